import ChatDomain
import Foundation

/// A gateway node's heartbeat on `chat.presence` (key `node:<id>`).
public struct NodeHeartbeat: Sendable, Equatable {
    public var node: String
    /// When this run of the node started (ms): a restart with the same id is a new incarnation,
    /// so records of the previous run are recognised and ignored.
    public var incarnation: Int64
    public var timestamp: Int64
    /// False when the node announced a clean shutdown.
    public var up: Bool

    public init(node: String, incarnation: Int64, timestamp: Int64, up: Bool) {
        self.node = node
        self.incarnation = incarnation
        self.timestamp = timestamp
        self.up = up
    }
}

/// What one node says about one user (key `user:<user>@<node>`): each node writes only its own
/// keys, so nodes never race on a record.
///
/// Written when the user's first session on the node opens and when the last one closes; at both
/// moments none of the user's rooms are online on that node, so applying it clears ``rooms``.
public struct UserPresence: Sendable, Equatable {
    public var user: String
    public var node: String
    public var incarnation: Int64
    public var online: Bool
    /// Rooms in which the user's sessions on that node are, as the table learnt them from
    /// ``RoomPresence`` records. Not on the wire: each room travels as a record of its own, so a
    /// join writes one small record rather than the user's whole room list.
    public var rooms: Set<String>
    public var timestamp: Int64

    public init(user: String, node: String, incarnation: Int64, online: Bool, rooms: Set<String> = [], timestamp: Int64) {
        self.user = user
        self.node = node
        self.incarnation = incarnation
        self.online = online
        self.rooms = rooms
        self.timestamp = timestamp
    }
}

/// Whether a user is in a room on one node (key `room:<room>/<user>@<node>`): online while at
/// least one of the user's sessions on that node has joined the room.
public struct RoomPresence: Sendable, Equatable {
    public var user: String
    public var node: String
    public var room: String
    public var incarnation: Int64
    public var online: Bool
    public var timestamp: Int64

    public init(user: String, node: String, room: String, incarnation: Int64, online: Bool, timestamp: Int64) {
        self.user = user
        self.node = node
        self.room = room
        self.incarnation = incarnation
        self.online = online
        self.timestamp = timestamp
    }
}

/// A record of the compacted `chat.presence` topic.
///
/// Compaction keeps the last record of each key. The records of one user on one node (its
/// `user:` key and its `room:` keys) go to one partition, that of the `user:` key, so they are
/// read in the order they were written, before and after compaction.
public enum PresenceRecord: Sendable, Equatable {
    case node(NodeHeartbeat)
    case user(UserPresence)
    case room(RoomPresence)

    public var key: String {
        switch self {
        case .node(let heartbeat): Self.nodeKey(heartbeat.node)
        case .user(let presence): Self.userKey(presence.user, node: presence.node)
        case .room(let presence): "\(PresenceKeys.roomPrefix)\(presence.room)/\(presence.user)@\(presence.node)"
        }
    }

    /// The key that chooses the record's partition.
    public var partitionKey: String {
        switch self {
        case .node, .user: key
        case .room(let presence): Self.userKey(presence.user, node: presence.node)
        }
    }

    public static func nodeKey(_ node: String) -> String { PresenceKeys.nodePrefix + node }

    static func userKey(_ user: String, node: String) -> String { "\(PresenceKeys.userPrefix)\(user)@\(node)" }

    private struct Record: Codable {
        var type: String
        var node: String
        var incarnation: Int64
        var ts: Int64
        var status: String
        var user: String?
        var room: String?
    }

    public func encoded() -> [UInt8] {
        let record: Record
        switch self {
        case .node(let heartbeat):
            record = Record(
                type: "node", node: heartbeat.node, incarnation: heartbeat.incarnation, ts: heartbeat.timestamp,
                status: heartbeat.up ? "up" : "down")
        case .user(let presence):
            record = Record(
                type: "user", node: presence.node, incarnation: presence.incarnation, ts: presence.timestamp,
                status: presence.online ? "online" : "offline", user: presence.user)
        case .room(let presence):
            record = Record(
                type: "room", node: presence.node, incarnation: presence.incarnation, ts: presence.timestamp,
                status: presence.online ? "online" : "offline", user: presence.user, room: presence.room)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array((try? encoder.encode(record)) ?? Data())
    }

    public init?(decoding bytes: [UInt8]) {
        guard let record = try? JSONDecoder().decode(Record.self, from: Data(bytes)) else { return nil }
        switch record.type {
        case "node":
            self = .node(NodeHeartbeat(node: record.node, incarnation: record.incarnation, timestamp: record.ts, up: record.status == "up"))
        case "user":
            guard let user = record.user else { return nil }
            self = .user(
                UserPresence(
                    user: user, node: record.node, incarnation: record.incarnation, online: record.status == "online",
                    timestamp: record.ts))
        case "room":
            guard let user = record.user, let room = record.room else { return nil }
            self = .room(
                RoomPresence(
                    user: user, node: record.node, room: room, incarnation: record.incarnation, online: record.status == "online",
                    timestamp: record.ts))
        default:
            return nil
        }
    }
}
