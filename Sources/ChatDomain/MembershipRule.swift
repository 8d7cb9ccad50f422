/// Who may do what in a room: the one place the membership rules are written. ``PartitionLogFold``
/// applies them to every event in log order (so every reader refuses the same events), and the
/// gateway asks the same questions of the state its fan-out folded before it writes an event
/// (so a refused request is answered at once, and only a race is decided by the log).
public enum MembershipRule {
    /// Rooms whose names start with this are direct-message rooms (``DirectRoom``): until created
    /// as a DM they have no members, so nobody may read or post there.
    public static let directPrefix = "dm."

    /// What `user` may do in `room` at `time`, given its state (`nil`: never created).
    public static func access(of user: String, in room: RoomName, state: RoomState?, at time: Int64) -> RoomAccess {
        guard let state else { return room.value.hasPrefix(directPrefix) ? .notMember : .visitor }
        if state.isBanned(user, at: time) { return .banned }
        if let role = state.members[user] { return .member(role) }
        return state.kind == .public ? .visitor : .notMember
    }

    /// Applies `event` to its room's state, or tells why the rule refuses it (then the state is
    /// unchanged). Messages, edits and deletes are checked for the sender's access here; whether
    /// an edit or delete finds its target is the ``RoomTimeline``'s part.
    ///
    /// - Parameters:
    ///   - state: the room's state before the event (`nil`: never created); updated on success.
    ///   - offset: the event's offset (a create records it).
    public static func apply(_ event: RoomEvent, to state: inout RoomState?, offset: Int64) -> LogRefusal? {
        let time = event.timestamp
        let sender = event.from
        switch event.kind {
        case .message, .edit:
            if event.authority == .operator { return nil }
            if event.authority == .moderator { return .notPermitted }
            return writeRefusal(access(of: sender, in: event.room, state: state, at: time), sender: sender, state: state, time: time)
        case .delete:
            switch event.authority {
            case .operator: return nil
            case .moderator: return moderatorRefusal(sender, in: event.room, state: state, time: time)
            case .user:
                // A muted member may still delete their own messages.
                let access = access(of: sender, in: event.room, state: state, at: time)
                return access.mayRead ? nil : (access == .banned ? .banned : .notMember)
            }
        case .membership(let action):
            return apply(action, by: sender, authority: event.authority, room: event.room, to: &state, time: time, offset: offset)
        }
    }

    private static func writeRefusal(_ access: RoomAccess, sender: String, state: RoomState?, time: Int64) -> LogRefusal? {
        switch access {
        case .banned: return .banned
        case .notMember: return .notMember
        case .member, .visitor: return state?.isMuted(sender, at: time) == true ? .muted : nil
        }
    }

    /// Refuses a moderation by `actor` unless they are an owner or moderator of the room now.
    private static func moderatorRefusal(_ actor: String, in room: RoomName, state: RoomState?, time: Int64) -> LogRefusal? {
        switch access(of: actor, in: room, state: state, at: time) {
        case .member(let role): return role.moderates ? nil : .notPermitted
        case .visitor: return .notPermitted
        case .banned: return .banned
        case .notMember: return .notMember
        }
    }

    private static func apply(
        _ action: MembershipAction, by actor: String, authority: EventAuthority, room: RoomName, to state: inout RoomState?, time: Int64,
        offset: Int64
    ) -> LogRefusal? {
        let isOperator = authority == .operator
        if case .create(let kind, let title, let owner, let members) = action {
            guard state?.createdAt == nil else { return .roomExists }
            return create(
                kind: kind, title: title, owner: owner, members: members, by: actor, isOperator: isOperator, room: room, state: &state, offset: offset
            )
        }
        guard let target = action.target, !target.isEmpty else { return .invalid }
        // Operators may manage a room nobody created (then public, without an owner).
        var current = state ?? RoomState(kind: .public)
        if state == nil, !isOperator { return room.value.hasPrefix(directPrefix) ? .notMember : .notPermitted }
        if current.kind == .dm { return .notPermitted }
        let actorRole: MemberRole
        if isOperator {
            actorRole = .owner
        } else {
            if let refusal = moderatorRefusal(actor, in: room, state: current, time: time) { return refusal }
            actorRole = current.members[actor] ?? .member
            // Moderators act on members and visitors only; owners on anyone, other owners included.
            if actorRole != .owner, let targetRole = current.members[target], targetRole >= actorRole { return .notPermitted }
        }
        switch action {
        case .create:
            return .invalid
        case .add(_, let role):
            guard current.members[target] == nil else { return .invalid }
            guard !current.isBanned(target, at: time) else { return .banned }
            // Invited as a member; higher roles are given with `role` (by an owner) or by an operator.
            guard isOperator || role == .member else { return .notPermitted }
            current.members[target] = role
        case .remove:
            guard current.members[target] != nil else { return .invalid }
            current.members[target] = nil
        case .setRole(_, let role):
            guard isOperator || actorRole == .owner else { return .notPermitted }
            guard current.members[target] != nil else { return .invalid }
            current.members[target] = role
        case .ban(_, let until):
            let end = until ?? Int64.max
            guard end > time else { return .invalid }
            current.members[target] = nil
            current.bans[target] = end
        case .unban:
            guard current.bans[target] != nil else { return .invalid }
            current.bans[target] = nil
        case .mute(_, let until):
            if until > time { current.mutes[target] = until } else { current.mutes[target] = nil }
        }
        state = current
        return nil
    }

    private static func create(
        kind: RoomKind, title: String?, owner: String?, members: [String], by actor: String, isOperator: Bool, room: RoomName,
        state: inout RoomState?, offset: Int64
    ) -> LogRefusal? {
        if let title, title.utf8.count > maxTitleBytes { return .invalid }
        let isDirectName = room.value.hasPrefix(directPrefix)
        var created = RoomState(kind: kind, title: title, createdAt: offset)
        switch kind {
        case .dm:
            // One room per pair: the name is the pair's, and only one of the two opens it.
            guard owner == nil, Set(members).count == 2, members.allSatisfy({ !$0.isEmpty }),
                DirectRoom.name(members[0], members[1]) == room, isOperator || members.contains(actor)
            else { return .invalid }
            for member in members { created.members[member] = .member }
        case .public, .private:
            guard !isDirectName else { return .notPermitted }
            guard members.count <= maxInitialMembers else { return .invalid }
            if isOperator {
                if let owner { created.members[owner] = .owner }
            } else {
                guard owner == actor else { return .invalid }
                created.members[actor] = .owner
            }
            for member in members where created.members[member] == nil && !member.isEmpty { created.members[member] = .member }
        }
        // An operator may have banned or muted someone before anyone created the room.
        if let earlier = state {
            created.bans = earlier.bans
            created.mutes = earlier.mutes
            for (user, role) in earlier.members where created.members[user] == nil { created.members[user] = role }
        }
        state = created
        return nil
    }

    /// Longest room title in UTF-8 bytes.
    public static let maxTitleBytes = 200
    /// Most members a create may list besides the owner (more are invited one by one).
    public static let maxInitialMembers = 100
}
