import ChatDomain
import ChatTestSupport
import Testing

/// The log's one fold: verdicts, window seeding, pending amendments, and agreement with a naive
/// model of the rules written straight from their definitions.
@Suite("Partition log fold")
struct PartitionLogFoldTests {
    static let room = RoomName("r")!
    static let other = RoomName("o")!

    static func event(_ from: String, _ kind: RoomEvent.Kind, in room: RoomName = room, at timestamp: Int64 = 1) -> RoomEvent {
        RoomEvent(room: room, from: from, timestamp: timestamp, kind: kind)
    }

    @Test("Each event gets its verdict and room change")
    func verdicts() throws {
        var fold = PartitionLogFold(partition: 3, from: 0, span: 10, keepsMessages: true)
        func apply(_ offset: Int64, _ event: RoomEvent?) -> FoldedEvent? { fold.apply(offset: offset, event: event) }
        let post = try #require(apply(0, Self.event("ann", .message(cmid: "c", body: "hi"), at: 5)))
        #expect(post.verdict == .visible)
        #expect(post.logged == LoggedRoomEvent(event: Self.event("ann", .message(cmid: "c", body: "hi"), at: 5), partition: 3, offset: 0))
        guard case .posted(let message) = post.change else {
            Issue.record("no posted change")
            return
        }
        #expect(message.msgId == "0" && message.from == "ann" && message.body == "hi" && message.timestamp == 5)

        #expect(apply(1, nil) == nil, "not a room event")
        #expect(apply(2, Self.event("ann", .message(cmid: "c", body: "hi")))?.verdict == .duplicate(of: .init(offset: 0, timestamp: 5)))
        #expect(apply(3, Self.event("ann", .message(cmid: "c", body: "hi"), in: Self.other))?.verdict == .visible, "per room")
        #expect(apply(4, Self.event("bob", .edit(msgId: "0", body: "x")))?.verdict == .refused(.notAuthor))
        #expect(apply(5, Self.event("ann", .edit(msgId: "2", body: "x")))?.verdict == .refused(.unknownTarget), "a retry is no message")
        #expect(apply(6, Self.event("ann", .edit(msgId: "3", body: "x")))?.verdict == .refused(.unknownTarget), "another room's message")
        #expect(apply(7, Self.event("ann", .edit(msgId: "00", body: "x")))?.verdict == .refused(.unknownTarget), "not a message id")
        #expect(apply(8, Self.event("ann", .delete(msgId: "99")))?.verdict == .refused(.unknownTarget), "a later offset")
        let edit = try #require(apply(9, Self.event("ann", .edit(msgId: "0", body: "hello"))))
        #expect(edit.verdict == .visible)
        #expect(
            edit.change
                == .edited(ChatMessage(room: Self.room, msgId: "0", cmid: "c", from: "ann", body: "hello", timestamp: 5, offset: 0, edited: true)))
        let delete = try #require(apply(10, Self.event("ann", .delete(msgId: "0"))))
        #expect(
            delete.change
                == .deleted(ChatMessage(room: Self.room, msgId: "0", cmid: "c", from: "ann", body: "hello", timestamp: 5, offset: 0, edited: true)))
        #expect(apply(11, Self.event("ann", .edit(msgId: "0", body: "back")))?.verdict == .refused(.deletedTarget))
        #expect(apply(5, Self.event("ann", .message(cmid: "z", body: "late"))) == nil, "an offset already folded")
        #expect(fold.visibleMessages.map(\.offset) == [3])
        #expect(fold.timeline(of: Self.room)?.visibleMessages == [])
        #expect(fold.to == 12 && fold.recordCount == 12)
    }

    @Test("A fold that starts mid-partition leaves amendments of older messages pending")
    func pendingAmendments() throws {
        var fold = PartitionLogFold(partition: 0, from: 10, span: 10, keepsMessages: true)
        func apply(_ offset: Int64, _ event: RoomEvent?) -> FoldedEvent? { fold.apply(offset: offset, event: event) }
        #expect(apply(10, Self.event("ann", .edit(msgId: "4", body: "x")))?.verdict == .pending)
        #expect(apply(11, Self.event("ann", .delete(msgId: "12")))?.verdict == .refused(.unknownTarget))
        // Decided once the target is in reach: author only, nothing after a delete.
        let target = ChatMessage(room: Self.room, msgId: "4", cmid: "c", from: "ann", body: "old", timestamp: 1, offset: 4)
        func logged(_ offset: Int64, _ event: RoomEvent) -> LoggedRoomEvent { LoggedRoomEvent(event: event, partition: 0, offset: offset) }
        let (message, verdicts) = RoomTimeline.decide(
            [
                logged(10, Self.event("bob", .edit(msgId: "4", body: "hijack"))),
                logged(11, Self.event("ann", .edit(msgId: "4", body: "new"))),
                logged(12, Self.event("ann", .delete(msgId: "4"), in: Self.other)),
                logged(13, Self.event("ann", .delete(msgId: "4"))),
                logged(14, Self.event("ann", .edit(msgId: "4", body: "back"))),
            ], of: target)
        #expect(message == nil)
        #expect(verdicts == [.refused(.notAuthor), .visible, .refused(.unknownTarget), .visible, .refused(.deletedTarget)])
        #expect(RoomTimeline.decide([logged(10, Self.event("ann", .edit(msgId: "4", body: "x")))], of: nil).verdicts == [.refused(.unknownTarget)])
    }

    @Test("Without messages the fold keeps only the window: posts judged, amendments pending")
    func windowOnly() {
        var fold = PartitionLogFold(partition: 0, from: 0, span: 3)
        func apply(_ offset: Int64, _ event: RoomEvent?) -> FoldedEvent? { fold.apply(offset: offset, event: event) }
        #expect(apply(0, Self.event("ann", .message(cmid: "c", body: "a")))?.verdict == .visible)
        #expect(apply(1, Self.event("ann", .edit(msgId: "0", body: "b")))?.verdict == .pending)
        #expect(apply(3, Self.event("ann", .message(cmid: "c", body: "a")))?.verdict == .duplicate(of: .init(offset: 0, timestamp: 1)))
        #expect(fold.original(room: Self.room, user: "ann", cmid: "c", appendedAt: 3) == .init(offset: 0, timestamp: 1))
        #expect(fold.original(room: Self.room, user: "ann", cmid: "c", appendedAt: 4) == nil, "out of the span")
        #expect(apply(4, Self.event("ann", .message(cmid: "c", body: "a")))?.verdict == .visible, "out of the span: a new post")
        #expect(fold.timeline(of: Self.room) == nil && fold.visibleMessages.isEmpty)
        #expect(fold.window == [WindowEntry(offset: 4, room: "r", author: "ann", cmid: "c", timestamp: 1)])
    }

    @Test("For random logs the fold agrees with a naive model of the rules", arguments: Array(UInt64(1)...12))
    func matchesModel(seed: UInt64) {
        let span: Int64 = 15
        let log = Self.randomLog(seed: seed, count: 400)
        var fold = PartitionLogFold(partition: 0, from: 0, span: span, keepsMessages: true)
        var model = RuleModel(span: span)
        for (offset, event) in log.enumerated() {
            let folded = fold.apply(offset: Int64(offset), event: event)
            let expected = model.apply(offset: Int64(offset), event: event)
            #expect(folded?.verdict.kind == expected, "seed \(seed) offset \(offset): \(String(describing: event))")
        }
        #expect(fold.visibleMessages == model.visibleMessages, "seed \(seed)")
    }

    @Test(
        "A fold seeded with the window at its start, merged with the folds before it, equals one fold of the whole log",
        arguments: Array(UInt64(1)...12))
    func segmentsEqualWhole(seed: UInt64) {
        let span: Int64 = 15
        let log = Self.randomLog(seed: seed, count: 300)
        var whole = PartitionLogFold(partition: 0, from: 0, span: span, keepsMessages: true)
        let wholeEvents = log.enumerated().map { whole.apply(offset: Int64($0.offset), event: $0.element) }
        var generator = SeededGenerator(seed: seed &* 31)
        var cuts = (0..<4).map { _ in Int(generator.next() % UInt64(log.count)) }.sorted()
        cuts = [0] + cuts + [log.count]
        // Messages of the segments so far, and each segment's fold continued from the last one's window.
        var merged: [Int64: ChatMessage] = [:]
        var window: [WindowEntry] = []
        for (start, end) in zip(cuts, cuts.dropFirst()) where start < end {
            var segment = PartitionLogFold(partition: 0, from: Int64(start), span: span, window: window, keepsMessages: true)
            var pending: [Int64: [LoggedRoomEvent]] = [:]
            for offset in start..<end {
                let folded = segment.apply(offset: Int64(offset), event: log[offset])
                if let folded, folded.verdict != .pending {
                    #expect(folded == wholeEvents[offset], "seed \(seed) offset \(offset) in \(start)..<\(end)")
                }
                if let folded, folded.verdict == .pending, let target = Self.target(of: folded.logged.event) {
                    pending[target, default: []].append(folded.logged)
                }
            }
            for (target, amendments) in pending {
                merged[target] = RoomTimeline.decide(amendments, of: merged[target]).message
            }
            for message in segment.visibleMessages { merged[message.offset] = message }
            window = segment.window
        }
        #expect(merged.values.sorted { $0.offset < $1.offset } == whole.visibleMessages, "seed \(seed) cuts \(cuts)")
        #expect(window == whole.window, "seed \(seed)")
    }

    @Test("A fold of one room reports that room's events with the verdicts of a fold of every room")
    func oneRoom() {
        let log = Self.randomLog(seed: 99, count: 300)
        var all = PartitionLogFold(partition: 0, from: 0, span: 15, keepsMessages: true)
        var one = PartitionLogFold(partition: 0, from: 0, span: 15, rooms: .only(Self.room), keepsMessages: true)
        for (offset, event) in log.enumerated() {
            let fromAll = all.apply(offset: Int64(offset), event: event)
            let fromOne = one.apply(offset: Int64(offset), event: event)
            #expect(fromOne == (event?.room == Self.room ? fromAll : nil), "offset \(offset)")
        }
        #expect(one.visibleMessages == all.timeline(of: Self.room)?.visibleMessages)
        #expect(one.window == all.window, "the window sees every room")
    }

    static func target(of event: RoomEvent) -> Int64? {
        switch event.kind {
        case .message, .membership: nil
        case .edit(let id, _), .delete(let id): LoggedRoomEvent.offset(ofMessageID: id)
        }
    }

    /// Posts (with retries near and far), edits and deletes by authors and others, of rooms' own
    /// and other rooms' messages, ids naming nothing, and records that are no room event.
    static func randomLog(seed: UInt64, count: Int) -> [RoomEvent?] {
        var random = SeededGenerator(seed: seed)
        let rooms = [room, other, RoomName("third")!]
        let users = ["ann", "bob", "cid"]
        var log: [RoomEvent?] = []
        for offset in 0..<count {
            func pick<T>(_ values: [T]) -> T { values[Int(random.next() % UInt64(values.count))] }
            let roll = random.next() % 100
            let room = pick(rooms)
            let user = pick(users)
            let target = offset == 0 ? "0" : String(random.next() % UInt64(offset))
            let timestamp = Int64(offset) * 10
            switch roll {
            case 0..<45:
                log.append(RoomEvent(room: room, from: user, timestamp: timestamp, kind: .message(cmid: "c\(random.next() % 6)", body: "p\(offset)")))
            case 45..<70: log.append(RoomEvent(room: room, from: user, timestamp: timestamp, kind: .edit(msgId: target, body: "e\(offset)")))
            case 70..<88: log.append(RoomEvent(room: room, from: user, timestamp: timestamp, kind: .delete(msgId: target)))
            case 88..<94:
                log.append(
                    RoomEvent(room: room, from: user, timestamp: timestamp, kind: .edit(msgId: pick(["x", "-1", "007", "\(offset + 3)"]), body: "b")))
            default: log.append(nil)
            }
        }
        return log
    }
}

extension LogVerdict {
    /// The verdict without its details, to compare with ``RuleModel``.
    var kind: RuleModel.Verdict {
        switch self {
        case .visible: .visible
        case .duplicate: .duplicate
        case .refused: .refused
        case .pending: .pending
        }
    }
}

/// The rules as docs/architecture.md states them, computed the slow and obvious way: a post is a
/// retry when a visible post with the same (room, user, cmid) is within `span` offsets before it;
/// an edit or delete applies when its id is the offset of a visible message of the same room,
/// still there, posted by its sender.
struct RuleModel {
    enum Verdict: Equatable { case visible, duplicate, refused, pending }

    let span: Int64
    private var posts: [(offset: Int64, room: RoomName, user: String, cmid: String)] = []
    private var messages: [Int64: ChatMessage] = [:]

    init(span: Int64) { self.span = span }

    mutating func apply(offset: Int64, event: RoomEvent?) -> Verdict? {
        guard let event else { return nil }
        switch event.kind {
        case .message(let cmid, let body):
            if posts.contains(where: { $0.room == event.room && $0.user == event.from && $0.cmid == cmid && $0.offset >= offset - span }) {
                return .duplicate
            }
            posts.append((offset, event.room, event.from, cmid))
            messages[offset] = ChatMessage(
                room: event.room, msgId: String(offset), cmid: cmid, from: event.from, body: body, timestamp: event.timestamp, offset: offset)
            return .visible
        case .edit(let id, let body):
            guard let target = messages.first(where: { String($0.key) == id })?.key, messages[target]!.room == event.room,
                messages[target]!.from == event.from
            else { return .refused }
            messages[target]!.body = body
            messages[target]!.edited = true
            return .visible
        case .delete(let id):
            guard let target = messages.first(where: { String($0.key) == id })?.key, messages[target]!.room == event.room,
                messages[target]!.from == event.from
            else { return .refused }
            messages[target] = nil
            return .visible
        case .membership:
            return nil
        }
    }

    var visibleMessages: [ChatMessage] { messages.values.sorted { $0.offset < $1.offset } }
}
