import ChatDomain
import ChatHistory
import ChatTestSupport
import Kafka

/// A random partition log of chat events: posts, retries of earlier posts (inside and outside the
/// duplicate span), edits and deletes by the author and by others, of posts in the same room and
/// in others, ids that name nothing, and records that are not room events.
struct RandomChatLog {
    let rooms: [RoomName]
    /// `nil` for a record that is not a room event.
    private(set) var events: [RoomEvent?] = []

    init(seed: UInt64, count: Int, rooms: [String] = ["alpha", "beta", "gamma"], users: [String] = ["ann", "bob", "cid"], bodyPadding: Int = 0) {
        let padding = String(repeating: "x", count: bodyPadding)
        self.rooms = rooms.map { RoomName($0)! }
        var random = SeededGenerator(seed: seed)
        var posts: [(offset: Int, room: RoomName, user: String, cmid: String)] = []
        var clock: Int64 = 1_700_000_000_000
        for offset in 0..<count {
            clock += Int64.random(in: 1...2000, using: &random)
            let room = self.rooms.randomElement(using: &random)!
            let user = users.randomElement(using: &random)!
            let roll = Int.random(in: 0..<100, using: &random)
            switch roll {
            case 0..<40:
                let cmid = "c\(offset)"
                posts.append((offset, room, user, cmid))
                events.append(RoomEvent(room: room, from: user, timestamp: clock, kind: .message(cmid: cmid, body: "post \(offset)\(padding)")))
            case 40..<52 where !posts.isEmpty:
                // A retry: the same (room, user, cmid) again, near or far.
                let original = posts.randomElement(using: &random)!
                events.append(
                    RoomEvent(
                        room: original.room, from: original.user, timestamp: clock,
                        kind: .message(cmid: original.cmid, body: "retry \(offset)\(padding)")))
                posts.append((offset, original.room, original.user, original.cmid))
            case 52..<75 where !posts.isEmpty:
                let target = posts.randomElement(using: &random)!
                let author = Int.random(in: 0..<4, using: &random) == 0 ? user : target.user
                let eventRoom = Int.random(in: 0..<10, using: &random) == 0 ? room : target.room
                events.append(
                    RoomEvent(
                        room: eventRoom, from: author, timestamp: clock, kind: .edit(msgId: String(target.offset), body: "edit \(offset)\(padding)")))
            case 75..<88 where !posts.isEmpty:
                let target = posts.randomElement(using: &random)!
                let author = Int.random(in: 0..<4, using: &random) == 0 ? user : target.user
                events.append(RoomEvent(room: target.room, from: author, timestamp: clock, kind: .delete(msgId: String(target.offset))))
            case 88..<92:
                let bogus = ["x", "-1", "007", String(offset + 5)].randomElement(using: &random)!
                events.append(RoomEvent(room: room, from: user, timestamp: clock, kind: .edit(msgId: bogus, body: "bogus \(offset)")))
            case 92..<95:
                events.append(nil)
            default:
                let cmid = "c\(offset)"
                posts.append((offset, room, user, cmid))
                events.append(RoomEvent(room: room, from: user, timestamp: clock, kind: .message(cmid: cmid, body: "post \(offset)\(padding)")))
            }
        }
    }

    init(events: [RoomEvent?], rooms: [RoomName]) {
        self.events = events
        self.rooms = rooms
    }

    /// The record bytes at `offset - base`.
    func value(at index: Int) -> [UInt8] {
        events[index]?.encoded() ?? Array("{not a room event".utf8)
    }

    func record(at index: Int, partition: Int32 = 0, base: Int64 = 0) -> KafkaRecord {
        KafkaRecord(
            topic: ChatTopics.rooms, partition: partition, offset: base + Int64(index), key: nil, value: value(at: index), timestampMilliseconds: 0)
    }

    /// The room's history folded from the whole log by the log-only reader's code.
    func oracle(room: RoomName, span: Int64, base: Int64 = 0, upTo end: Int? = nil) -> [ChatMessage] {
        var fold = PartitionLogFold(partition: 0, from: base, span: span, rooms: .only(room), keepsMessages: true)
        for index in 0..<(end ?? events.count) { fold.apply(offset: base + Int64(index), value: value(at: index)) }
        return fold.timeline(of: room)?.visibleMessages ?? []
    }

    /// Folds `range` of the log as the compactor does, starting from `window`.
    func fold(_ range: Range<Int>, span: Int64, window: [WindowEntry], base: Int64 = 0, room: String? = nil) -> SegmentContents {
        var fold = SegmentFold(from: base + Int64(range.lowerBound), span: span, window: window, room: room.flatMap(RoomName.init))
        for index in range { fold.apply(offset: base + Int64(index), value: value(at: index)) }
        return fold.contents()
    }
}

/// What a client holds after applying frames: message id to (author, body).
struct ClientView: Equatable {
    struct Entry: Equatable {
        var author: String
        var body: String
    }

    var messages: [String: Entry] = [:]

    init(_ messages: [ChatMessage]) {
        for message in messages { self.messages[message.msgId] = Entry(author: message.from, body: message.body) }
    }

    /// A short description of how two views differ.
    func difference(from other: ClientView) -> String {
        let missing = other.messages.keys.filter { messages[$0] == nil }.sorted { Int($0) ?? 0 < Int($1) ?? 0 }
        let extra = messages.keys.filter { other.messages[$0] == nil }.sorted { Int($0) ?? 0 < Int($1) ?? 0 }
        let changed = messages.keys.filter { other.messages[$0] != nil && other.messages[$0] != messages[$0] }.sorted { Int($0) ?? 0 < Int($1) ?? 0 }
        func short(_ key: String, _ view: ClientView) -> String { "\(key):\(view.messages[key].map { String($0.body.prefix(12)) } ?? "-")" }
        return
            "missing \(missing.prefix(10)) (\(missing.count)), extra \(extra.prefix(10)) (\(extra.count)), changed \(changed.prefix(5).map { short($0, self) + " vs " + short($0, other) }) (\(changed.count))"
    }

    /// Applies an event frame as a client would (edits and deletes of what it holds, by the author).
    mutating func apply(_ logged: LoggedRoomEvent) {
        switch logged.event.kind {
        case .message(_, let body):
            messages[logged.messageID] = Entry(author: logged.event.from, body: body)
        case .edit(let msgId, let body):
            guard let current = messages[msgId], current.author == logged.event.from else { return }
            messages[msgId] = Entry(author: current.author, body: body)
        case .delete(let msgId):
            guard messages[msgId]?.author == logged.event.from else { return }
            messages[msgId] = nil
        case .membership:
            break
        }
    }
}
