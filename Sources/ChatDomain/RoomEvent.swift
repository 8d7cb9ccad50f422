import Foundation

/// An event of a room, as stored in its partition of `chat.rooms` (JSON value, key = room name).
public struct RoomEvent: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case message(cmid: String, body: String)
        case edit(msgId: String, body: String)
        case delete(msgId: String)
    }

    public var room: RoomName
    /// The user id of the author.
    public var from: String
    /// Milliseconds since the Unix epoch, stamped by the gateway that accepted the request.
    public var timestamp: Int64
    public var kind: Kind

    public init(room: RoomName, from: String, timestamp: Int64, kind: Kind) {
        self.room = room
        self.from = from
        self.timestamp = timestamp
        self.kind = kind
    }
}

/// A room event with its place in the log.
public struct LoggedRoomEvent: Sendable, Equatable {
    public var event: RoomEvent
    public var partition: Int32
    public var offset: Int64

    public init(event: RoomEvent, partition: Int32, offset: Int64) {
        self.event = event
        self.partition = partition
        self.offset = offset
    }

    /// A message's id is the offset of the event that posted it: unique in its room, and the same
    /// for every reader of the log.
    public var messageID: String { String(offset) }
}

extension RoomEvent {
    private struct Record: Codable {
        var v: Int
        var type: String
        var room: String
        var from: String
        var ts: Int64
        var cmid: String?
        var msgId: String?
        var body: String?
    }

    /// Version of the stored format. Readers skip records of a newer version they do not know.
    public static let formatVersion = 1

    /// The bytes stored in Kafka: the fields of `Record`, keys in sorted order (what `JSONEncoder`
    /// with `.sortedKeys` wrote before). Built with ``JSONWriter``: this runs once per send on the
    /// way to its ack, and `JSONEncoder` cost as much as the rest of the gateway's produce path.
    public func encoded() -> [UInt8] {
        var cmid: String?
        var msgId: String?
        var body: String?
        let type: String
        switch kind {
        case .message(let messageCmid, let messageBody):
            (type, cmid, body) = ("message", messageCmid, messageBody)
        case .edit(let editedId, let editedBody):
            (type, msgId, body) = ("edit", editedId, editedBody)
        case .delete(let deletedId):
            (type, msgId) = ("delete", deletedId)
        }
        var writer = JSONWriter()
        writer.add("body", body)
        writer.add("cmid", cmid)
        writer.add("from", from)
        writer.add("msgId", msgId)
        writer.add("room", room.value)
        writer.add("ts", timestamp)
        writer.add("type", type)
        writer.add("v", Self.formatVersion)
        return Array(writer.finish().utf8)
    }

    /// Decodes a stored event; `nil` for a record that is not a room event this version understands.
    public init?(decoding bytes: [UInt8]) {
        guard let record = try? JSONDecoder().decode(Record.self, from: Data(bytes)), record.v <= Self.formatVersion,
            let room = RoomName(record.room)
        else { return nil }
        let kind: Kind
        switch record.type {
        case "message":
            guard let cmid = record.cmid, let body = record.body else { return nil }
            kind = .message(cmid: cmid, body: body)
        case "edit":
            guard let msgId = record.msgId, let body = record.body else { return nil }
            kind = .edit(msgId: msgId, body: body)
        case "delete":
            guard let msgId = record.msgId else { return nil }
            kind = .delete(msgId: msgId)
        default:
            return nil
        }
        self.init(room: room, from: record.from, timestamp: record.ts, kind: kind)
    }
}
