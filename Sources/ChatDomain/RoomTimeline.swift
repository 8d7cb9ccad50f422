/// The state of one room as the log's rules build it, event by event in log order: its messages,
/// edits applied, deleted ones gone. ``PartitionLogFold`` keeps one per room it folds; readers that
/// hold events already judged by a partition's fold (the fan-out's cache) replay them here.
///
/// Edits and deletes are judged here and nowhere else (``AmendmentRule``); new event kinds that
/// change a room (reactions, replies, membership) belong here too.
public struct RoomTimeline: Sendable {
    public let room: RoomName
    /// Amendments of messages posted before this offset are ``LogVerdict/pending``: the timeline
    /// has not seen those messages. `0`: it has seen the room from the log start.
    public let from: Int64
    /// Offset order; `nil` once deleted (kept so a later amendment is told "deleted", not "unknown").
    private var messages: [ChatMessage?] = []
    private var indexByOffset: [Int64: Int] = [:]

    public init(room: RoomName, from: Int64 = 0) {
        self.room = room
        self.from = from
    }

    /// Applies one event of the room. `duplicateOf` is the verdict of the partition's
    /// ``DuplicateWindow`` on a post (``PartitionLogFold`` gives it).
    @discardableResult
    public mutating func apply(_ logged: LoggedRoomEvent, duplicateOf: DuplicateWindow.Original?) -> (verdict: LogVerdict, change: RoomChange?) {
        let event = logged.event
        switch event.kind {
        case .message(let cmid, let body):
            if let duplicateOf { return (.duplicate(of: duplicateOf), nil) }
            let message = ChatMessage(
                room: room, msgId: logged.messageID, cmid: cmid, from: event.from, body: body, timestamp: event.timestamp, offset: logged.offset)
            insert(message)
            return (.visible, .posted(message))
        case .edit(let msgId, let body):
            switch target(msgId, of: event) {
            case .failure(let verdict): return (verdict, nil)
            case .success(let index):
                messages[index]?.body = body
                messages[index]?.edited = true
                return (.visible, messages[index].map(RoomChange.edited))
            }
        case .delete(let msgId):
            switch target(msgId, of: event) {
            case .failure(let verdict): return (verdict, nil)
            case .success(let index):
                let removed = messages[index]
                messages[index] = nil
                return (.visible, removed.map(RoomChange.deleted))
            }
        case .membership:
            // Membership is the partition fold's (``MembershipRule``): a timeline holds messages.
            return (.visible, nil)
        }
    }

    private enum Target {
        case success(Int)
        case failure(LogVerdict)
    }

    /// The index of the message `amendment` may change, or the verdict refusing it.
    private func target(_ msgId: String, of amendment: RoomEvent) -> Target {
        guard let offset = LoggedRoomEvent.offset(ofMessageID: msgId) else { return .failure(.refused(.unknownTarget)) }
        guard let index = indexByOffset[offset] else {
            return .failure(offset < from ? .pending : .refused(.unknownTarget))
        }
        guard let message = messages[index] else { return .failure(.refused(.deletedTarget)) }
        guard AmendmentRule.applies(amendment.kind, sentBy: amendment.from, authority: amendment.authority, toMessageBy: message.from) else {
            return .failure(.refused(.notAuthor))
        }
        return .success(index)
    }

    private mutating func insert(_ message: ChatMessage) {
        indexByOffset[message.offset] = messages.count
        messages.append(message)
    }

    /// The visible messages, oldest first.
    public var visibleMessages: [ChatMessage] {
        messages.compactMap { $0 }
    }

    /// The message with this id, if it is visible.
    public func message(id: String) -> ChatMessage? {
        LoggedRoomEvent.offset(ofMessageID: id).flatMap { message(at: $0) }
    }

    /// The message posted at `offset`, if it is visible.
    public func message(at offset: Int64) -> ChatMessage? {
        indexByOffset[offset].flatMap { messages[$0] }
    }
}

extension RoomTimeline {
    /// Decides amendments of one message that another layer holds (an earlier snapshot segment),
    /// in offset order, exactly as a timeline that had folded the message would have: ``pending``
    /// amendments are decided this way when their target is finally in reach.
    ///
    /// - Parameter message: the target as it stood before the amendments; `nil` when no visible
    ///   message is there (every amendment is then refused).
    /// - Returns: the message afterwards (`nil` once deleted) and each amendment's verdict.
    public static func decide(_ amendments: [LoggedRoomEvent], of message: ChatMessage?) -> (message: ChatMessage?, verdicts: [LogVerdict]) {
        guard let message else { return (nil, amendments.map { _ in .refused(.unknownTarget) }) }
        var timeline = RoomTimeline(room: message.room)
        timeline.insert(message)
        let verdicts = amendments.map { amendment -> LogVerdict in
            guard amendment.event.room == message.room, amendment.offset > message.offset else { return .refused(.unknownTarget) }
            return timeline.apply(amendment, duplicateOf: nil).verdict
        }
        return (timeline.message(at: message.offset), verdicts)
    }
}

extension LoggedRoomEvent {
    /// The offset a message id names, or `nil` when the id is not the canonical decimal form of an
    /// offset (such an id names no message: message ids are `String(offset)`).
    public static func offset(ofMessageID id: String) -> Int64? {
        guard let offset = Int64(id), offset >= 0, String(offset) == id else { return nil }
        return offset
    }
}
