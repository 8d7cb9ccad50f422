/// Who may read and write a room (protocol "Rooms and members").
public enum RoomKind: String, Sendable, Equatable, Codable, CaseIterable {
    /// Any user the token allows may join; rooms that were never created are public.
    case `public`
    /// Members only.
    case `private`
    /// Exactly two members, one room per pair (``DirectRoom``); nobody can be added.
    case dm
}

/// A member's role in a room.
public enum MemberRole: String, Sendable, Equatable, Codable, CaseIterable, Comparable {
    case member
    case moderator
    case owner

    /// Owners outrank moderators, who outrank members.
    public var rank: Int {
        switch self {
        case .member: 1
        case .moderator: 2
        case .owner: 3
        }
    }

    public static func < (lhs: MemberRole, rhs: MemberRole) -> Bool { lhs.rank < rhs.rank }

    /// Whether the role invites, kicks, bans, mutes and deletes others' messages.
    public var moderates: Bool { self >= .moderator }
}

/// On whose authority a gateway wrote an event: the log is written by gateways only, which set
/// it from the request's token, and the membership rule checks it against the room's state.
public enum EventAuthority: String, Sendable, Equatable, Codable {
    /// The user's own request.
    case user
    /// A moderation by the sender as owner or moderator (a delete of someone else's message);
    /// refused by the rule unless the sender holds that role when the event is read.
    case moderator
    /// An operator's request through the admin HTTP API (a token with `admin: true`): bypasses
    /// roles, so operators can manage rooms that have no owner.
    case `operator`
}

/// A change of a room's membership, as stored in the room's own log.
public enum MembershipAction: Sendable, Equatable {
    /// `room.created`. A user's create makes `owner` (the sender) its owner; a DM lists its two
    /// `members` and has no owner.
    case create(kind: RoomKind, title: String?, owner: String?, members: [String])
    /// `member.added` (invite).
    case add(user: String, role: MemberRole)
    /// `member.removed` (kick).
    case remove(user: String)
    /// `member.role`.
    case setRole(user: String, role: MemberRole)
    /// `member.banned`: also removes the user; `until` in ms since the epoch, `nil` for good.
    case ban(user: String, until: Int64?)
    /// `member.unbanned`.
    case unban(user: String)
    /// `member.muted` until a time; an `until` not after the event's time ends a mute.
    case mute(user: String, until: Int64)

    /// The user the action is about (`nil` for a create).
    public var target: String? {
        switch self {
        case .create: nil
        case .add(let user, _), .remove(let user), .setRole(let user, _), .ban(let user, _), .unban(let user), .mute(let user, _): user
        }
    }
}
