import Foundation

/// An event of a room, as stored in its partition of `chat.rooms` (JSON value, key = room name).
public struct RoomEvent: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case message(cmid: String, body: String)
        case edit(msgId: String, body: String)
        case delete(msgId: String)
        /// A change of the room's membership, ordered with its messages.
        case membership(MembershipAction)
    }

    public var room: RoomName
    /// The user id of the author.
    public var from: String
    /// Milliseconds since the Unix epoch, stamped by the gateway that accepted the request.
    public var timestamp: Int64
    public var kind: Kind
    /// On whose authority the gateway wrote it (checked by ``MembershipRule``).
    public var authority: EventAuthority

    public init(room: RoomName, from: String, timestamp: Int64, kind: Kind, authority: EventAuthority = .user) {
        self.room = room
        self.from = from
        self.timestamp = timestamp
        self.kind = kind
        self.authority = authority
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
        var user: String?
        var role: String?
        var until: Int64?
        var title: String?
        var roomKind: String?
        var owner: String?
        var members: [String]?
        var `as`: String?
    }

    /// Version of the stored format. Readers skip records of a newer version they do not know.
    public static let formatVersion = 1

    /// The bytes stored in Kafka: the fields of `Record`, keys in sorted order (what `JSONEncoder`
    /// with `.sortedKeys` wrote before). Built with ``JSONWriter``: this runs once per send on the
    /// way to its ack, and `JSONEncoder` cost as much as the rest of the gateway's produce path.
    public func encoded() -> [UInt8] {
        var record = Record(v: Self.formatVersion, type: "", room: room.value, from: from, ts: timestamp)
        switch kind {
        case .message(let cmid, let body):
            (record.type, record.cmid, record.body) = ("message", cmid, body)
        case .edit(let editedId, let editedBody):
            (record.type, record.msgId, record.body) = ("edit", editedId, editedBody)
        case .delete(let deletedId):
            (record.type, record.msgId) = ("delete", deletedId)
        case .membership(let action):
            Self.describe(action, in: &record)
        }
        if authority != .user { record.as = authority.rawValue }
        // Keys in sorted order, as before: a record without membership fields is byte for byte
        // what earlier versions wrote.
        var writer = JSONWriter()
        writer.add("as", record.as)
        writer.add("body", record.body)
        writer.add("cmid", record.cmid)
        writer.add("from", record.from)
        if let members = record.members { writer.add("members", strings: members) }
        writer.add("msgId", record.msgId)
        writer.add("owner", record.owner)
        writer.add("role", record.role)
        writer.add("room", record.room)
        writer.add("roomKind", record.roomKind)
        writer.add("title", record.title)
        writer.add("ts", record.ts)
        writer.add("type", record.type)
        if let until = record.until { writer.add("until", until) }
        writer.add("user", record.user)
        writer.add("v", record.v)
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
            // Only in the form gateways write (`"type":"member.…"`, no whitespace), so that
            // ``mayBeMembership(_:)`` finds every membership record without decoding it.
            guard Self.mayBeMembership(bytes), let action = Self.membershipAction(type: record.type, record) else { return nil }
            kind = .membership(action)
        }
        var authority = EventAuthority.user
        if let named = record.as {
            // An authority this version does not know grants nothing: the record is skipped.
            guard let known = EventAuthority(rawValue: named) else { return nil }
            authority = known
        }
        self.init(room: room, from: record.from, timestamp: record.ts, kind: kind, authority: authority)
    }

    /// Whether the record may be a membership event: `false` means it is not one, whatever else
    /// it is. A byte search, so a fold that needs only room states (a fan-out replaying the log
    /// before its duplicate window) skips the other records without decoding them.
    public static func mayBeMembership(_ bytes: [UInt8]) -> Bool {
        contains(bytes, membershipMarker) || contains(bytes, creationMarker)
    }

    private static let membershipMarker = Array(#""type":"member."#.utf8)
    private static let creationMarker = Array(#""type":"room.created""#.utf8)

    private static func contains(_ bytes: [UInt8], _ needle: [UInt8]) -> Bool {
        guard bytes.count >= needle.count, let first = needle.first else { return false }
        var index = 0
        let last = bytes.count - needle.count
        while index <= last {
            if bytes[index] == first {
                var matched = 1
                while matched < needle.count, bytes[index + matched] == needle[matched] { matched += 1 }
                if matched == needle.count { return true }
            }
            index += 1
        }
        return false
    }

    /// The membership fields and type of `action`'s record.
    private static func describe(_ action: MembershipAction, in record: inout Record) {
        record.user = action.target
        switch action {
        case .create(let kind, let title, let owner, let members):
            (record.type, record.roomKind, record.title, record.owner, record.members) = ("room.created", kind.rawValue, title, owner, members)
        case .add(_, let role):
            (record.type, record.role) = ("member.added", role.rawValue)
        case .remove:
            record.type = "member.removed"
        case .setRole(_, let role):
            (record.type, record.role) = ("member.role", role.rawValue)
        case .ban(_, let until):
            (record.type, record.until) = ("member.banned", until)
        case .unban:
            record.type = "member.unbanned"
        case .mute(_, let until):
            (record.type, record.until) = ("member.muted", until)
        }
    }

    private static func membershipAction(type: String, _ record: Record) -> MembershipAction? {
        if type == "room.created" {
            guard let kind = record.roomKind.flatMap(RoomKind.init(rawValue:)) else { return nil }
            return .create(kind: kind, title: record.title, owner: record.owner, members: record.members ?? [])
        }
        guard let user = record.user else { return nil }
        switch type {
        case "member.added":
            guard let role = record.role.flatMap(MemberRole.init(rawValue:)) else { return nil }
            return .add(user: user, role: role)
        case "member.removed": return .remove(user: user)
        case "member.role":
            guard let role = record.role.flatMap(MemberRole.init(rawValue:)) else { return nil }
            return .setRole(user: user, role: role)
        case "member.banned": return .ban(user: user, until: record.until)
        case "member.unbanned": return .unban(user: user)
        case "member.muted":
            guard let until = record.until else { return nil }
            return .mute(user: user, until: until)
        default: return nil
        }
    }
}
