import ChatDomain
import ChatHistory
import Foundation
import GRDB
import Testing

/// Segments store membership events and amendment authorities; files of the previous format still read.
@Suite("Snapshots carry membership")
struct MembershipSnapshotTests {
    static let span: Int64 = 100
    static let vault = RoomName("vault")!

    static func event(_ from: String, _ second: Int64, _ kind: RoomEvent.Kind, as authority: EventAuthority = .user, room: RoomName = vault)
        -> RoomEvent
    {
        RoomEvent(room: room, from: from, timestamp: 1_700_000_000_000 + second * 1000, kind: kind, authority: authority)
    }

    /// Folds `log` into segments cut at `cuts`, each seeded from what the earlier ones stored.
    static func segments(_ log: RandomChatLog, cuts: [Int], fixtures: inout SegmentFixtures) throws -> [SegmentReader] {
        var segments: [SegmentReader] = []
        var window: [WindowEntry] = []
        for (start, end) in zip([0] + cuts, cuts) {
            let states = MembershipJournal(partition: 0, events: try segments.flatMap { try $0.membershipEvents() }).current
            let contents = log.fold(start..<end, span: span, window: window, roomStates: states)
            window = contents.window
            segments.append(try fixtures.write(contents))
        }
        return segments
    }

    static func history(_ layers: [any RoomLayer], room: RoomName = vault) throws -> [ChatMessage] {
        var all: [ChatMessage] = []
        try RoomHistoryView(room: room, layers: layers).forEachMessage { batch in
            all += batch
            return true
        }
        return all
    }

    @Test("A banned user's post after the ban is absent from history from the log and from snapshots plus the tail")
    func bannedPostAbsent() throws {
        let log = RandomChatLog(
            events: [
                Self.event("ann", 0, .membership(.create(kind: .private, title: "Vault", owner: "ann", members: ["bob", "cid"]))),
                Self.event("bob", 1, .message(cmid: "b1", body: "before the ban")),
                Self.event("ann", 2, .membership(.ban(user: "bob", until: nil))),
                Self.event("cid", 3, .message(cmid: "c1", body: "still here")),
                Self.event("bob", 4, .message(cmid: "b2", body: "after the ban")),
                Self.event("eve", 5, .message(cmid: "e1", body: "never a member")),
                Self.event("ann", 6, .delete(msgId: "3"), as: .moderator),
                Self.event("ann", 7, .message(cmid: "a1", body: "owner")),
            ], rooms: [Self.vault])
        let expected = ["before the ban", "owner"]
        #expect(log.oracle(room: Self.vault, span: Self.span).map(\.body) == expected)
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        var fixtures = SegmentFixtures(directory: temporary.path, span: Self.span)
        for cut in 1..<log.events.count {
            // The creation and the ban in segments, the rest in the log tail.
            let segments = try Self.segments(log, cuts: [1, cut].filter { $0 <= cut }.uniqued(), fixtures: &fixtures)
            let states = MembershipJournal(partition: 0, events: try segments.flatMap { try $0.membershipEvents() }).current
            let tail = log.fold(cut..<log.events.count, span: Self.span, window: try segments.last!.window(), roomStates: states, room: Self.vault)
            let layers: [any RoomLayer] =
                segments.map { SegmentRoomLayer(reader: $0, room: Self.vault.value) } + [MemoryRoomLayer(contents: tail, room: Self.vault.value)]
            #expect(try Self.history(layers).map(\.body) == expected, "cut at \(cut)")
            let merged = try fixtures.merge(segments)
            #expect(try merged.membershipEvents().map(\.offset) == [0, 2].filter { $0 < cut })
            #expect(
                try Self.history([SegmentRoomLayer(reader: merged, room: Self.vault.value), MemoryRoomLayer(contents: tail, room: Self.vault.value)])
                    .map(\.body) == expected)
        }
    }

    @Test("A moderator's delete pending in a later segment applies when the history is read and when merged")
    func pendingModeratorDelete() throws {
        let lobby = RoomName("lobby")!
        let log = RandomChatLog(
            events: [
                Self.event("ann", 0, .membership(.create(kind: .public, title: nil, owner: "ann", members: [])), room: lobby),
                Self.event("bob", 1, .message(cmid: "b1", body: "spam"), room: lobby),
                Self.event("cid", 2, .message(cmid: "c1", body: "kept"), room: lobby),
                Self.event("ann", 3, .delete(msgId: "1"), as: .moderator, room: lobby),
                Self.event("cid", 4, .delete(msgId: "2"), as: .moderator, room: lobby),
            ], rooms: [lobby])
        #expect(log.oracle(room: lobby, span: Self.span).map(\.body) == ["kept"], "only an owner's or moderator's delete applies")
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        var fixtures = SegmentFixtures(directory: temporary.path, span: Self.span)
        let segments = try Self.segments(log, cuts: [3, 5], fixtures: &fixtures)
        #expect(try segments[1].contents().amendments.map(\.authority) == [.moderator], "stored with its authority; cid's is refused by the fold")
        #expect(try Self.history(segments.map { SegmentRoomLayer(reader: $0, room: "lobby") }, room: lobby).map(\.body) == ["kept"])
        let merged = try fixtures.merge(segments)
        #expect(try merged.contents().messages.map(\.body) == ["kept"])
        #expect(try merged.contents().amendments.map { ($0.authority, $0.pending) }.elementsEqual([(.moderator, false)], by: ==))
    }

    @Test("A segment file of format 1 (no membership table, no authority column) opens, reads and merges")
    func formatOneStillReads() throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let path = "\(temporary.path)/old.sqlite"
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: Self.formatOneSchema)
            for (key, value) in [
                ("format", "1"), ("topic", ChatTopics.rooms), ("epoch", testEpoch.description), ("partition", "0"), ("from_offset", "0"),
                ("to_offset", "3"), ("duplicate_span", String(Self.span)), ("level", "0"),
            ] {
                try db.execute(sql: "INSERT INTO segment VALUES (?, ?)", arguments: [key, value])
            }
            try db.execute(sql: "INSERT INTO messages VALUES (0, 'lobby', 'a1', 'ann', 'hello!', 1000, 1), (1, 'lobby', 'b1', 'bob', 'hi', 2000, 0)")
            try db.execute(sql: "INSERT INTO amendments VALUES (2, 'lobby', 'ann', '0', 'edit', 'hello!', 3000, 0)")
            for table in ["posts", "duplicate_window"] {
                try db.execute(sql: "INSERT INTO \(table) VALUES (0, 'lobby', 'ann', 'a1', 1000), (1, 'lobby', 'bob', 'b1', 2000)")
            }
            try db.execute(sql: Self.formatOneFinish)
        }
        try queue.close()
        let (sha, bytes) = try DurableFiles.sha256(path: path)
        let old = try SegmentReader.open(
            path: path,
            descriptor: SegmentDescriptor(file: "old.sqlite", from: 0, to: 3, level: 0, sha256: sha, bytes: bytes, messages: 2, amendments: 1),
            partition: 0, epoch: testEpoch)
        #expect(try old.membershipEvents().isEmpty)
        #expect(try old.contents().amendments.map(\.authority) == [.user])
        #expect(try old.messages(room: "lobby", after: -1, limit: 10).map(\.body) == ["hello!", "hi"])

        // A segment of this version after it: bob edits his message, ann creates a room.
        let lobby = RoomName("lobby")!
        var fold = SegmentFold(from: 3, span: Self.span, window: try old.window())
        fold.apply(offset: 3, event: Self.event("bob", 4, .edit(msgId: "1", body: "hi all"), room: lobby))
        fold.apply(offset: 4, event: Self.event("ann", 5, .membership(.create(kind: .private, title: nil, owner: "ann", members: []))))
        var fixtures = SegmentFixtures(directory: temporary.path, span: Self.span)
        let new = try fixtures.write(fold.contents())
        #expect(
            try Self.history([SegmentRoomLayer(reader: old, room: "lobby"), SegmentRoomLayer(reader: new, room: "lobby")], room: lobby).map(\.body)
                == ["hello!", "hi all"])
        let merged = try fixtures.merge([old, new])
        let contents = try merged.contents()
        #expect(contents.messages.map(\.body) == ["hello!", "hi all"])
        #expect(contents.amendments.map(\.authority) == [.user, .user])
        #expect(contents.membershipEvents.map(\.offset) == [4])
        #expect(try merged.rooms().keys.sorted() == ["lobby", "vault"], "the room summary counts a room known by its membership alone")
    }

    /// The schema format-1 segments were written with (before membership), kept to test that they still read.
    static let formatOneSchema = """
        CREATE TABLE segment (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE messages (
            msg_offset INTEGER PRIMARY KEY, room TEXT NOT NULL, cmid TEXT NOT NULL, author TEXT NOT NULL,
            body TEXT NOT NULL, ts INTEGER NOT NULL, edited INTEGER NOT NULL);
        CREATE TABLE amendments (
            event_offset INTEGER PRIMARY KEY, room TEXT NOT NULL, author TEXT NOT NULL, target TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('edit', 'delete')), body TEXT, ts INTEGER NOT NULL, pending INTEGER NOT NULL);
        CREATE TABLE duplicate_window (
            post_offset INTEGER PRIMARY KEY, room TEXT NOT NULL, author TEXT NOT NULL, cmid TEXT NOT NULL, ts INTEGER NOT NULL);
        CREATE TABLE posts (
            post_offset INTEGER PRIMARY KEY, room TEXT NOT NULL, author TEXT NOT NULL, cmid TEXT NOT NULL, ts INTEGER NOT NULL);
        """

    static let formatOneFinish = """
        CREATE INDEX messages_by_room ON messages (room, msg_offset);
        CREATE INDEX amendments_by_room ON amendments (room, event_offset);
        CREATE TABLE rooms (room TEXT PRIMARY KEY, messages INTEGER NOT NULL, first_msg INTEGER, last_msg INTEGER) WITHOUT ROWID;
        INSERT INTO rooms
            SELECT room, SUM(counted), MIN(first_msg), MAX(last_msg) FROM (
                SELECT room, 1 AS counted, msg_offset AS first_msg, msg_offset AS last_msg FROM messages
                UNION ALL SELECT room, 0, NULL, NULL FROM amendments)
            GROUP BY room;
        """
}

extension Array where Element: Hashable {
    fileprivate func uniqued() -> [Element] {
        var seen: Set<Element> = []
        return filter { seen.insert($0).inserted }
    }
}
