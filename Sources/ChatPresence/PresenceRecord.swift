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
public struct UserPresence: Sendable, Equatable {
    public var user: String
    public var node: String
    public var incarnation: Int64
    public var online: Bool
    /// Rooms the user's sessions on that node joined.
    public var rooms: [String]
    public var timestamp: Int64

    public init(user: String, node: String, incarnation: Int64, online: Bool, rooms: [String], timestamp: Int64) {
        self.user = user
        self.node = node
        self.incarnation = incarnation
        self.online = online
        self.rooms = rooms
        self.timestamp = timestamp
    }
}

/// A record of the compacted `chat.presence` topic.
public enum PresenceRecord: Sendable, Equatable {
    case node(NodeHeartbeat)
    case user(UserPresence)

    public var key: String {
        switch self {
        case .node(let heartbeat): Self.nodeKey(heartbeat.node)
        case .user(let presence): "user:\(presence.user)@\(presence.node)"
        }
    }

    public static func nodeKey(_ node: String) -> String { "node:\(node)" }

    private struct Record: Codable {
        var type: String
        var node: String
        var incarnation: Int64
        var ts: Int64
        var status: String
        var user: String?
        var rooms: [String]?
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
                status: presence.online ? "online" : "offline", user: presence.user, rooms: presence.rooms)
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
                    rooms: record.rooms ?? [], timestamp: record.ts))
        default:
            return nil
        }
    }
}
