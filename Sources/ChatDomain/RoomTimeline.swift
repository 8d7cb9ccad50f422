/// Folds a room's events, in log order, into the messages `history` shows: duplicates dropped,
/// edits applied, deleted messages absent, under ``AmendmentRule``.
public struct RoomTimeline: Sendable {
    public let room: RoomName
    private var messages: [ChatMessage] = []
    private var indexByID: [String: Int] = [:]
    private var deletedCount = 0

    public init(room: RoomName) {
        self.room = room
    }

    /// What an event did to the timeline.
    public enum Outcome: Sendable, Equatable {
        case posted(ChatMessage)
        case edited(ChatMessage)
        case deleted(ChatMessage)
        /// Not applied: a duplicate post, or an edit / delete of an unknown message or by someone else.
        case ignored
    }

    /// Applies one event. `duplicateOf` is the verdict of the partition's ``DuplicateWindow``.
    @discardableResult
    public mutating func apply(_ logged: LoggedRoomEvent, duplicateOf: DuplicateWindow.Original?) -> Outcome {
        let event = logged.event
        switch event.kind {
        case .message(let cmid, let body):
            guard duplicateOf == nil else { return .ignored }
            let message = ChatMessage(
                room: room, msgId: logged.messageID, cmid: cmid, from: event.from, body: body,
                timestamp: event.timestamp, offset: logged.offset)
            indexByID[message.msgId] = messages.count
            messages.append(message)
            return .posted(message)
        case .edit(let msgId, let body):
            guard let index = indexByID[msgId], AmendmentRule.applies(sentBy: event.from, toMessageBy: messages[index].from) else { return .ignored }
            messages[index].body = body
            messages[index].edited = true
            return .edited(messages[index])
        case .delete(let msgId):
            guard let index = indexByID[msgId], AmendmentRule.applies(sentBy: event.from, toMessageBy: messages[index].from) else { return .ignored }
            let removed = messages[index]
            indexByID[msgId] = nil
            messages[index].msgId = ""
            deletedCount += 1
            return .deleted(removed)
        }
    }

    /// The visible messages, oldest first.
    public var visibleMessages: [ChatMessage] {
        deletedCount == 0 ? messages : messages.filter { !$0.msgId.isEmpty }
    }

    /// The message with this id, if it is visible.
    public func message(id: String) -> ChatMessage? {
        indexByID[id].map { messages[$0] }
    }
}
