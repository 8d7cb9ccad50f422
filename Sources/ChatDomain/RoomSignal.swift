import Foundation

/// An ephemeral event of a room on `chat.signals` (same partition as the room in `chat.rooms`):
/// never part of history.
public struct RoomSignal: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case typing
        /// A member's read position moved.
        case read(cursor: ChatCursor)
    }

    public var room: RoomName
    public var user: String
    public var timestamp: Int64
    public var kind: Kind

    public init(room: RoomName, user: String, timestamp: Int64, kind: Kind) {
        self.room = room
        self.user = user
        self.timestamp = timestamp
        self.kind = kind
    }

    private struct Record: Codable {
        var type: String
        var room: String
        var user: String
        var ts: Int64
        var cursor: String?
    }

    public func encoded() -> [UInt8] {
        var record = Record(type: "typing", room: room.value, user: user, ts: timestamp)
        if case .read(let cursor) = kind {
            record.type = "read"
            record.cursor = cursor.description
        }
        return Array((try? JSONEncoder().encode(record)) ?? Data())
    }

    public init?(decoding bytes: [UInt8]) {
        guard let record = try? JSONDecoder().decode(Record.self, from: Data(bytes)), let room = RoomName(record.room) else { return nil }
        switch record.type {
        case "typing":
            self.init(room: room, user: record.user, timestamp: record.ts, kind: .typing)
        case "read":
            guard let cursor = record.cursor.flatMap(ChatCursor.init) else { return nil }
            self.init(room: room, user: record.user, timestamp: record.ts, kind: .read(cursor: cursor))
        default:
            return nil
        }
    }

    /// The frame room members receive.
    public var frame: String {
        var writer = JSONWriter()
        switch kind {
        case .typing:
            writer.add("op", "typing")
            writer.add("room", room.value)
            writer.add("user", user)
        case .read(let cursor):
            writer.add("op", "read")
            writer.add("room", room.value)
            writer.add("user", user)
            writer.add("cursor", cursor.description)
        }
        return writer.finish()
    }
}
