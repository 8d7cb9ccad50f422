/// Everything a node knows about presence, from `chat.presence`, and the rule that derives who is
/// online: a user is online in a room when some node whose heartbeat is fresh (seen within
/// `staleAfter`, same incarnation, not shut down) reports the user online in that room.
///
/// Pure state: records and clock ticks go in, presence changes come out.
public struct PresenceTable: Sendable {
    /// A user's status in one room changed.
    public struct Change: Sendable, Hashable {
        public var room: String
        public var user: String
        public var online: Bool

        public init(room: String, user: String, online: Bool) {
            self.room = room
            self.user = user
            self.online = online
        }
    }

    private struct NodeState {
        var heartbeat: NodeHeartbeat
        /// Local receipt time (ms on this node's monotonic clock): judging staleness by it
        /// avoids depending on the clocks of other nodes.
        var lastSeen: Int64
        var stale: Bool
    }

    /// Milliseconds without a heartbeat after which a node's users are offline.
    public let staleAfter: Int64
    private var nodes: [String: NodeState] = [:]
    private var users: [String: [String: UserPresence]] = [:]
    private var usersByNode: [String: Set<String>] = [:]

    public init(staleAfter: Int64) {
        self.staleAfter = staleAfter
    }

    /// Applies a record received at local time `now` and returns the resulting changes.
    public mutating func apply(_ record: PresenceRecord, now: Int64) -> [Change] {
        switch record {
        case .node(let heartbeat):
            let affected = usersByNode[heartbeat.node] ?? []
            let before = views(of: affected)
            nodes[heartbeat.node] = NodeState(heartbeat: heartbeat, lastSeen: now, stale: false)
            return changes(before: before, after: views(of: affected))
        case .user(let presence):
            let before = views(of: [presence.user])
            users[presence.user, default: [:]][presence.node] = presence
            usersByNode[presence.node, default: []].insert(presence.user)
            return changes(before: before, after: views(of: [presence.user]))
        case .room(let presence):
            // Only for the run that announced the user: a room record of another run is stale.
            guard var entry = users[presence.user]?[presence.node], entry.incarnation == presence.incarnation,
                entry.rooms.contains(presence.room) != presence.online
            else { return [] }
            let before = isOnline(presence.user, in: presence.room)
            if presence.online { entry.rooms.insert(presence.room) } else { entry.rooms.remove(presence.room) }
            users[presence.user]?[presence.node] = entry
            let after = isOnline(presence.user, in: presence.room)
            return before == after ? [] : [Change(room: presence.room, user: presence.user, online: after)]
        }
    }

    /// Marks nodes whose heartbeat is older than `staleAfter` as gone; returns the changes.
    public mutating func expire(now: Int64) -> [Change] {
        var result: [Change] = []
        for (name, state) in nodes where !state.stale && now - state.lastSeen > staleAfter {
            let affected = usersByNode[name] ?? []
            let before = views(of: affected)
            nodes[name]?.stale = true
            result += changes(before: before, after: views(of: affected))
        }
        return result
    }

    /// The rooms in which `user` is online (empty when offline).
    public func onlineRooms(of user: String) -> Set<String> {
        var rooms = Set<String>()
        for presence in users[user]?.values ?? [:].values where counts(presence) {
            rooms.formUnion(presence.rooms)
        }
        return rooms
    }

    /// Whether any fresh node reports the user in `room` (without building the user's room set).
    public func isOnline(_ user: String, in room: String) -> Bool {
        users[user]?.values.contains { counts($0) && $0.rooms.contains(room) } ?? false
    }

    /// Whether any fresh node reports the user online.
    public func isOnline(_ user: String) -> Bool {
        users[user]?.values.contains(where: counts) ?? false
    }

    /// The users online in `room`, sorted.
    public func online(in room: String) -> [String] {
        users.keys.filter { onlineRooms(of: $0).contains(room) }.sorted()
    }

    /// Records this node wrote in an earlier run and never withdrew (it crashed): they must be
    /// withdrawn so no ghost stays online.
    public func leftovers(of node: String, currentIncarnation: Int64) -> [UserPresence] {
        (usersByNode[node] ?? []).compactMap { users[$0]?[node] }.filter { $0.online && $0.incarnation != currentIncarnation }
    }

    public var userCount: Int { users.count }

    private func counts(_ presence: UserPresence) -> Bool {
        guard presence.online, let node = nodes[presence.node] else { return false }
        return !node.stale && node.heartbeat.up && node.heartbeat.incarnation == presence.incarnation
    }

    private func views(of affected: Set<String>) -> [String: Set<String>] {
        var result: [String: Set<String>] = [:]
        for user in affected { result[user] = onlineRooms(of: user) }
        return result
    }

    private func changes(before: [String: Set<String>], after: [String: Set<String>]) -> [Change] {
        var result: [Change] = []
        for (user, old) in before {
            let new = after[user] ?? []
            for room in new.subtracting(old).sorted() { result.append(Change(room: room, user: user, online: true)) }
            for room in old.subtracting(new).sorted() { result.append(Change(room: room, user: user, online: false)) }
        }
        return result
    }
}
