/// What the log's rules decided about one room event (see ``PartitionLogFold``).
public enum LogVerdict: Sendable, Equatable {
    /// A new message, or an edit or delete that applied.
    case visible
    /// A retry of the visible post `of` (the ``DuplicateWindow`` rule): nobody sees it.
    case duplicate(of: DuplicateWindow.Original)
    /// An event a rule refuses: nobody sees its effect.
    case refused(LogRefusal)
    /// An edit or delete whose target the fold does not hold: posted before the fold's start, or
    /// the fold keeps no messages. A reader that holds the target decides it with the same rule
    /// (a segment merge, a history view over several layers): the verdict needs only the target
    /// and the earlier amendments of it, so deciding late gives what deciding in log order gives.
    case pending
}

/// Why a rule refused an event.
public enum LogRefusal: Sendable, Equatable {
    /// An edit or delete naming no message of the room: never posted, a retry, another room's,
    /// or an id that is not a message id.
    case unknownTarget
    /// An edit or delete of a message deleted earlier in the log (two nodes racing, each having
    /// checked before the other's delete).
    case deletedTarget
    /// An edit or delete sent by someone other than the message's author (``AmendmentRule``).
    case notAuthor
    /// The sender is not a member of the private room or DM (``MembershipRule``).
    case notMember
    /// The sender is banned from the room.
    case banned
    /// The sender is muted in the room.
    case muted
    /// The sender's role does not allow it (moderation without being owner or moderator, a role
    /// change by a non-owner, acting on a higher role, adding to a DM).
    case notPermitted
    /// A create of a room that was created before.
    case roomExists
    /// A membership change that does not apply (inviting a member, kicking a non-member,
    /// unbanning who is not banned, a malformed DM).
    case invalid
}

/// How an event changed the state of its room.
public enum RoomChange: Sendable, Equatable {
    case posted(ChatMessage)
    /// The message after the edit.
    case edited(ChatMessage)
    /// The message as it was before the delete.
    case deleted(ChatMessage)
    /// The room's membership changed; `state` is the room's state after it.
    case membership(MembershipAction, state: RoomState)
}

/// A room event with its place in the log, the rules' verdict on it and what it changed.
public struct FoldedEvent: Sendable, Equatable {
    public var logged: LoggedRoomEvent
    public var verdict: LogVerdict
    /// `nil` when the event changed nothing (refused, pending, a duplicate).
    public var change: RoomChange?

    public init(logged: LoggedRoomEvent, verdict: LogVerdict, change: RoomChange?) {
        self.logged = logged
        self.verdict = verdict
        self.change = change
    }

    /// Whether a rule refused the event.
    public var isRefused: Bool {
        if case .refused = verdict { return true }
        return false
    }

    /// The visible post a duplicate repeats; `nil` for every other event.
    public var duplicateOf: DuplicateWindow.Original? {
        if case .duplicate(let original) = verdict { return original }
        return nil
    }
}

extension RoomChange {
    /// Whether the change is a membership change.
    public var isMembership: Bool {
        if case .membership = self { return true }
        return false
    }

    /// The user a membership change takes out of the room (kicked or banned), if any.
    public var removedUser: String? {
        guard case .membership(let action, _) = self else { return nil }
        switch action {
        case .remove(let user), .ban(let user, _): return user
        default: return nil
        }
    }
}
