import ChatDomain

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
    /// On whose authority it was written: a moderator's delete applies to anyone's message.
    public var authority: EventAuthority

    public init(
        offset: Int64, room: String, author: String, target: String, kind: Kind, body: String?, timestamp: Int64, pending: Bool,
        authority: EventAuthority = .user
    ) {
        self.offset = offset
        self.room = room
        self.author = author
        self.target = target
        self.kind = kind
        self.body = body
        self.timestamp = timestamp
        self.pending = pending
        self.authority = authority
    }

    /// The target's offset, or `nil` when the id is not the canonical decimal form of an offset
    /// (such an id names no message: message ids are `String(offset)`).
    public var targetOffset: Int64? { LoggedRoomEvent.offset(ofMessageID: target) }

    /// The amendment a fold kept (``LogVerdict/visible``: applied, or ``LogVerdict/pending``).
    /// `nil` for a post.
    public init?(_ folded: FoldedEvent) {
        let event = folded.logged.event
        let (kind, target, body): (Kind, String, String?)
        switch event.kind {
        case .message, .membership: return nil
        case .edit(let msgId, let newBody): (kind, target, body) = (.edit, msgId, newBody)
        case .delete(let msgId): (kind, target, body) = (.delete, msgId, nil)
        }
        self.init(
            offset: folded.logged.offset, room: event.room.value, author: event.from, target: target, kind: kind, body: body,
            timestamp: event.timestamp, pending: folded.verdict == .pending, authority: event.authority)
    }

    /// The event as it was logged.
    public func loggedEvent(room: RoomName, partition: Int32) -> LoggedRoomEvent {
        let kind: RoomEvent.Kind =
            switch self.kind {
            case .edit: .edit(msgId: target, body: body ?? "")
            case .delete: .delete(msgId: target)
            }
        return LoggedRoomEvent(
            event: RoomEvent(room: room, from: author, timestamp: timestamp, kind: kind, authority: authority), partition: partition, offset: offset)
    }
}

extension [SnapshotAmendment] {
    /// Decides these amendments of one target (offset order) under the log's rule
    /// (``RoomTimeline/decide(_:of:)``), given the target as the layer holding it stores it.
    /// - Returns: the message afterwards (`nil` when deleted or unknown) and the amendments that applied.
    public func decided(of message: ChatMessage?) -> (message: ChatMessage?, applied: [SnapshotAmendment]) {
        // A room name that does not validate names no room: its amendment applies to nothing.
        let logged = compactMap { amendment in RoomName(amendment.room).map { (amendment, amendment.loggedEvent(room: $0, partition: 0)) } }
        let (result, verdicts) = RoomTimeline.decide(logged.map(\.1), of: message)
        let applied = zip(logged, verdicts).compactMap { pair, verdict -> SnapshotAmendment? in
            guard verdict == .visible else { return nil }
            var done = pair.0
            done.pending = false
            return done
        }
        return (result, applied)
    }
}
