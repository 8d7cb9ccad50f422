import ChatDomain

/// A visible post as a snapshot segment stores it: the amendments known to the segment applied.
public struct SnapshotMessage: Sendable, Equatable {
    /// The offset of the post in its partition; its message id is this number as a string.
    public var offset: Int64
    public var room: String
    public var cmid: String
    public var author: String
    public var body: String
    public var timestamp: Int64
    public var edited: Bool

    public init(offset: Int64, room: String, cmid: String, author: String, body: String, timestamp: Int64, edited: Bool) {
        self.offset = offset
        self.room = room
        self.cmid = cmid
        self.author = author
        self.body = body
        self.timestamp = timestamp
        self.edited = edited
    }

    /// The message as `history` shows it.
    public func chatMessage(room: RoomName) -> ChatMessage {
        ChatMessage(
            room: room, msgId: String(offset), cmid: cmid, from: author, body: body, timestamp: timestamp, offset: offset, edited: edited)
    }
}

/// An edit or delete event kept by a segment.
///
/// `pending` amendments target a post older than their segment: whether they apply is decided
/// when the segment is read or merged together with the segment holding the target (the rule
/// only needs the target's author and the earlier amendments of the same target, so deciding
/// late gives the same verdict as deciding in log order).
public struct SnapshotAmendment: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case edit
        case delete
    }

    /// The offset of the edit or delete event.
    public var offset: Int64
    public var room: String
    public var author: String
    /// The message id the event names, exactly as it was written.
    public var target: String
    public var kind: Kind
    /// The new body of an edit.
    public var body: String?
    public var timestamp: Int64
    public var pending: Bool

    public init(offset: Int64, room: String, author: String, target: String, kind: Kind, body: String?, timestamp: Int64, pending: Bool) {
        self.offset = offset
        self.room = room
        self.author = author
        self.target = target
        self.kind = kind
        self.body = body
        self.timestamp = timestamp
        self.pending = pending
    }

    /// The target's offset, or `nil` when the id is not the canonical decimal form of an offset
    /// (such an id names no message: message ids are `String(offset)`).
    public var targetOffset: Int64? {
        guard let offset = Int64(target), offset >= 0, String(offset) == target else { return nil }
        return offset
    }

    /// The event as it was logged.
    public func loggedEvent(room: RoomName, partition: Int32) -> LoggedRoomEvent {
        let kind: RoomEvent.Kind = switch self.kind {
        case .edit: .edit(msgId: target, body: body ?? "")
        case .delete: .delete(msgId: target)
        }
        return LoggedRoomEvent(event: RoomEvent(room: room, from: author, timestamp: timestamp, kind: kind), partition: partition, offset: offset)
    }
}
