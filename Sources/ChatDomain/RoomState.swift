/// A room's membership as the log's ``MembershipRule`` folds it: kind, members and their roles,
/// bans and mutes. Rooms that were never created have no state and are public.
///
/// Snapshots carry the membership events this is folded from, so a room whose creation left
/// retention long ago still knows its members.
public struct RoomState: Sendable, Equatable {
    public var kind: RoomKind
    public var title: String?
    /// The offset of the room's `room.created` event; `nil` for a room only an operator managed.
    public var createdAt: Int64?
    public var members: [String: MemberRole]
    /// Banned users and when their ban ends (ms since the epoch); `Int64.max` for good.
    public var bans: [String: Int64]
    /// Muted users and when their mute ends (ms since the epoch).
    public var mutes: [String: Int64]

    public init(
        kind: RoomKind, title: String? = nil, createdAt: Int64? = nil, members: [String: MemberRole] = [:], bans: [String: Int64] = [:],
        mutes: [String: Int64] = [:]
    ) {
        self.kind = kind
        self.title = title
        self.createdAt = createdAt
        self.members = members
        self.bans = bans
        self.mutes = mutes
    }

    /// Whether `user` is banned at `time` (ms since the epoch).
    public func isBanned(_ user: String, at time: Int64) -> Bool {
        bans[user].map { time < $0 } ?? false
    }

    /// Whether `user` is muted at `time`.
    public func isMuted(_ user: String, at time: Int64) -> Bool {
        mutes[user].map { time < $0 } ?? false
    }

    public func role(of user: String) -> MemberRole? { members[user] }

    /// Members sorted by role (owners first), then user id: the order `members` replies list.
    public var memberList: [(user: String, role: MemberRole)] {
        members.map { (user: $0.key, role: $0.value) }.sorted { $0.role != $1.role ? $0.role > $1.role : $0.user < $1.user }
    }
}

/// What a user may do in a room at a time, from its state (``MembershipRule/access(of:in:at:)``).
public enum RoomAccess: Sendable, Equatable {
    /// A member with this role.
    case member(MemberRole)
    /// Not a member of a public room (or of a room never created): may read and post.
    case visitor
    /// Banned: may not read or post.
    case banned
    /// Not a member of a private room or DM.
    case notMember

    /// Whether the user may join, read history, see presence and typing.
    public var mayRead: Bool {
        switch self {
        case .member, .visitor: true
        case .banned, .notMember: false
        }
    }
}
