/// The presence of this node's own sessions, per session: a user is online on the node while one
/// of their sessions is open, and in a room while one of their sessions has joined it. Each
/// change returns the records to publish: one per room that changed, never the user's room list.
///
/// Pure state, so the counting (a session closing withdraws exactly its own rooms) is testable
/// without Kafka.
public struct LocalPresence: Sendable {
    /// A session, as the service knows it (its listener's identity).
    public typealias SessionID = ObjectIdentifier

    public let node: String
    public let incarnation: Int64
    private var sessionsPerUser: [String: Int] = [:]
    /// (user, room) -> sessions of the user that joined the room.
    private var sessionsPerRoom: [String: [String: Int]] = [:]
    /// The rooms each open session joined.
    private var sessions: [SessionID: (user: String, rooms: Set<String>)] = [:]

    public init(node: String, incarnation: Int64) {
        self.node = node
        self.incarnation = incarnation
    }

    public mutating func sessionOpened(_ session: SessionID, user: String, timestamp: Int64) -> [PresenceRecord] {
        guard sessions[session] == nil else { return [] }
        sessions[session] = (user, [])
        sessionsPerUser[user, default: 0] += 1
        return sessionsPerUser[user] == 1 ? [userRecord(user, online: true, timestamp)] : []
    }

    public mutating func joined(_ session: SessionID, room: String, timestamp: Int64) -> [PresenceRecord] {
        guard let user = sessions[session]?.user, sessions[session]?.rooms.insert(room).inserted == true else { return [] }
        sessionsPerRoom[user, default: [:]][room, default: 0] += 1
        return sessionsPerRoom[user]?[room] == 1 ? [roomRecord(user, room, online: true, timestamp)] : []
    }

    public mutating func left(_ session: SessionID, room: String, timestamp: Int64) -> [PresenceRecord] {
        guard let user = sessions[session]?.user, sessions[session]?.rooms.remove(room) != nil else { return [] }
        return withdraw(user, room, timestamp)
    }

    /// Withdraws the session's rooms (those no other session of the user holds), then the user
    /// when it was their last session.
    public mutating func sessionClosed(_ session: SessionID, timestamp: Int64) -> [PresenceRecord] {
        guard let (user, rooms) = sessions.removeValue(forKey: session) else { return [] }
        var records: [PresenceRecord] = []
        for room in rooms.sorted() { records += withdraw(user, room, timestamp) }
        let remaining = (sessionsPerUser[user] ?? 1) - 1
        if remaining > 0 {
            sessionsPerUser[user] = remaining
        } else {
            sessionsPerUser[user] = nil
            sessionsPerRoom[user] = nil
            records.append(userRecord(user, online: false, timestamp))
        }
        return records
    }

    /// Sessions of `user` on this node that joined `room`.
    public func sessions(of user: String, in room: String) -> Int {
        sessionsPerRoom[user]?[room] ?? 0
    }

    private mutating func withdraw(_ user: String, _ room: String, _ timestamp: Int64) -> [PresenceRecord] {
        let remaining = (sessionsPerRoom[user]?[room] ?? 1) - 1
        if remaining > 0 {
            sessionsPerRoom[user]?[room] = remaining
            return []
        }
        sessionsPerRoom[user]?[room] = nil
        return [roomRecord(user, room, online: false, timestamp)]
    }

    private func userRecord(_ user: String, online: Bool, _ timestamp: Int64) -> PresenceRecord {
        .user(UserPresence(user: user, node: node, incarnation: incarnation, online: online, timestamp: timestamp))
    }

    private func roomRecord(_ user: String, _ room: String, online: Bool, _ timestamp: Int64) -> PresenceRecord {
        .room(RoomPresence(user: user, node: node, room: room, incarnation: incarnation, online: online, timestamp: timestamp))
    }
}
