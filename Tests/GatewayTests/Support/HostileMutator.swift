import ChatDomain
import ChatTestSupport
import Foundation
import Synchronization

/// What hostile clients learned from the server's replies: real epochs, partitions, offsets,
/// msgIds, room names and users, which the mutator bends into edge cases.
final class LearnedValues: Sendable {
    struct Message: Sendable {
        var room: String
        var msgId: String
        var from: String
    }

    private struct State {
        var epochs: [String] = []
        var cursors: [String: [ChatCursor]] = [:]
        var messages: [Message] = []
        var users: Set<String> = []
    }

    private let state = Mutex(State())

    /// Takes what a received frame tells: its cursor, epoch, msgId, author, nested history items.
    func learn(from frame: [String: Any]) {
        var found: [[String: Any]] = [frame]
        if let items = frame["messages"] as? [[String: Any]] { found += items }
        state.withLock { state in
            for item in found {
                if let epoch = item["epoch"] as? String, !state.epochs.contains(epoch) { state.epochs.append(epoch) }
                if let text = item["cursor"] as? String, let cursor = ChatCursor(text), let room = item["room"] as? String ?? frame["room"] as? String
                {
                    if !state.epochs.contains(cursor.epoch.description) { state.epochs.append(cursor.epoch.description) }
                    var known = state.cursors[room, default: []]
                    if !known.contains(cursor) {
                        known.append(cursor)
                        if known.count > 16 { known.removeFirst() }
                    }
                    state.cursors[room] = known
                }
                if let from = item["from"] as? String { state.users.insert(from) }
                if let msgId = item["msgId"] as? String, let room = item["room"] as? String ?? frame["room"] as? String {
                    let from = item["from"] as? String ?? ""
                    if !state.messages.contains(where: { $0.msgId == msgId && $0.room == room }) {
                        state.messages.append(Message(room: room, msgId: msgId, from: from))
                        if state.messages.count > 256 { state.messages.removeFirst() }
                    }
                }
            }
            for user in frame["online"] as? [String] ?? [] { state.users.insert(user) }
        }
    }

    var epochs: [String] { state.withLock { $0.epochs } }
    var rooms: [String] { state.withLock { Array($0.cursors.keys).sorted() } }
    func cursors(in room: String) -> [ChatCursor] { state.withLock { $0.cursors[room] ?? [] } }
    var messages: [Message] { state.withLock { $0.messages } }
    var users: [String] { state.withLock { Array($0.users).sorted() } }
}

/// One hostile frame and the id it carries (when it is one the session chose, so its answer can be
/// told apart).
struct HostileProbe {
    var text: String
    var label: String
}

/// Builds hostile frames from learned values: integer edges of every type in every integer-valued
/// field, floats and NaN-like strings, wrong JSON types, mutated cursors, other users' msgIds, long
/// and unicode strings, deep nesting and duplicate keys.
struct HostileMutator {
    /// An integer-valued place in a request.
    enum IntegerField: CaseIterable {
        case sinceOffset, readOffset, beforeOffset, sincePartition, readPartition, beforePartition, limit, id, editMsgId, deleteMsgId
    }

    /// Edges of Int8/16/32/64 and UInt64 (min, max, ±1 around them), then other numbers and
    /// number-like strings. `Int64.max` first: the systematic pass tries it before anything else.
    static let integerEdges: [String] = {
        var edges = [
            "9223372036854775807", "9223372036854775806", "9223372036854775808", "-9223372036854775808", "-9223372036854775807",
            "-9223372036854775809", "18446744073709551615", "18446744073709551614", "18446744073709551616",
        ]
        let ranges: [(Int64, Int64)] = [
            (Int64(Int8.min), Int64(Int8.max)), (Int64(Int16.min), Int64(Int16.max)), (Int64(Int32.min), Int64(Int32.max)),
        ]
        for (low, high) in ranges { edges += [low - 1, low, low + 1, high - 1, high, high + 1].map(String.init) }
        edges += [
            "255", "256", "65535", "65536", "4294967295", "4294967296", "0", "-1", "1", "-0", "1e308", "-1e308", "1e-308", "0.5", "-1.5",
            "1e400", "123456789012345678901234567890", "NaN", "Infinity", "-Infinity", "0x10", "+1", "01", " 1", "", "1.0",
        ]
        return edges
    }()

    /// Every integer field at every edge, `Int64.max` in every field first.
    static let systematicPlan: [(IntegerField, String)] = integerEdges.flatMap { edge in IntegerField.allCases.map { ($0, edge) } }

    var random: SeededGenerator

    init(seed: UInt64) { random = SeededGenerator(seed: seed) }

    mutating func int(_ range: Range<Int>) -> Int { Int.random(in: range, using: &random) }
    mutating func chance(_ percent: Int) -> Bool { int(0..<100) < percent }
    mutating func pick<T>(_ values: [T]) -> T { values[int(0..<values.count)] }

    /// A JSON string literal for `text` (controls and quotes escaped).
    static func quoted(_ text: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [text], options: [.fragmentsAllowed])) ?? Data("[\"\"]".utf8)
        return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
    }

    /// An object from members given as raw JSON values, in order, duplicates kept.
    static func object(_ members: [(String, String)]) -> String {
        "{" + members.map { "\(quoted($0.0)):\($0.1)" }.joined(separator: ",") + "}"
    }

    /// A room to aim at: one this session joined (so joined-only paths run), else a learned one.
    mutating func room(_ joined: [String], _ learned: LearnedValues) -> String {
        let rooms = learned.rooms
        if !joined.isEmpty, rooms.isEmpty || chance(75) { return pick(joined) }
        return rooms.isEmpty ? "lobby" : pick(rooms)
    }

    /// A real cursor of `room` (its epoch and partition), or one made of the learned epoch.
    mutating func cursor(in room: String, _ learned: LearnedValues) -> ChatCursor {
        let known = learned.cursors(in: room)
        if !known.isEmpty { return pick(known) }
        let epoch = learned.epochs.first.flatMap { ChatCursor("\($0).0.0")?.epoch } ?? LogEpoch(value: 1)
        return ChatCursor(epoch: epoch, partition: 0, offset: 0)
    }

    /// A frame putting `edge` into `field`, aimed at learned rooms and cursors.
    mutating func integerProbe(_ field: IntegerField, _ edge: String, id: String, joined: [String], learned: LearnedValues) -> HostileProbe {
        let room = room(joined, learned)
        let real = cursor(in: room, learned)
        let withOffset = Self.quoted("\(real.epoch).\(real.partition).\(edge)")
        let withPartition = Self.quoted("\(real.epoch).\(edge).\(real.offset)")
        let base: [(String, String)] = [("id", Self.quoted(id)), ("room", Self.quoted(room))]
        let members: [(String, String)]
        switch field {
        case .sinceOffset: members = [("op", "\"join\"")] + base + [("since", withOffset)]
        case .sincePartition: members = [("op", "\"join\"")] + base + [("since", withPartition)]
        case .readOffset: members = [("op", "\"read\"")] + base + [("cursor", withOffset)]
        case .readPartition: members = [("op", "\"read\"")] + base + [("cursor", withPartition)]
        case .beforeOffset: members = [("op", "\"history\"")] + base + [("before", withOffset), ("limit", "5")]
        case .beforePartition: members = [("op", "\"history\"")] + base + [("before", withPartition), ("limit", "5")]
        case .limit: members = [("op", "\"history\"")] + base + [("limit", edge.isEmpty ? "\"\"" : edge)]
        case .id: members = [("op", "\"ping\""), ("id", edge.isEmpty ? "\"\"" : edge)]
        case .editMsgId: members = [("op", "\"edit\"")] + base + [("msgId", Self.quoted(edge)), ("body", "\"edited\"")]
        case .deleteMsgId: members = [("op", "\"delete\"")] + base + [("msgId", Self.quoted(edge))]
        }
        return HostileProbe(text: Self.object(members), label: "\(field)=\(edge)")
    }

    /// A learned cursor bent out of shape: parts swapped, dropped, added, off by one, from
    /// another room, another epoch, or byte-mutated.
    mutating func mutatedCursor(room: String, _ learned: LearnedValues) -> String {
        let real = cursor(in: room, learned)
        let epoch = real.epoch.description
        switch int(0..<12) {
        case 0: return "\(real.offset).\(real.partition).\(epoch)"
        case 1: return "\(epoch).\(real.partition)"
        case 2: return "\(epoch).\(real.partition).\(real.offset).1"
        case 3: return "\(epoch).\(real.partition + 1).\(real.offset)"
        case 4: return "\(LogEpoch(value: real.epoch.value &+ 1)).\(real.partition).\(real.offset)"
        case 5: return "\(epoch).\(real.partition).\(real.offset &+ Int64(int(1..<1_000_000)))"
        case 6: return "\(epoch.uppercased()).\(real.partition).\(real.offset)"
        case 7: return "\(epoch)..\(real.offset)"
        case 8:
            let other = cursor(in: pick(learned.rooms.isEmpty ? [room] : learned.rooms), learned)
            return other.description
        case 9: return "\(epoch).\(real.partition).\(real.offset)\u{0}"
        case 10: return String(repeating: "\(epoch).", count: int(1..<400)) + "1"
        default:
            var bytes = Array(real.description.utf8)
            let position = int(0..<bytes.count)
            bytes[position] = pick(Array("0123456789abcdef.-+ \u{0}".utf8))
            return String(decoding: bytes, as: UTF8.self)
        }
    }

    /// A value of the wrong JSON type, or a hostile one of the right type.
    mutating func wrongValue() -> String {
        switch int(0..<14) {
        case 0: return pick(["true", "false", "null"])
        case 1: return pick(["[]", "{}", "[1]", "{\"a\":1}", "[\"x\"]"])
        case 2: return pick(["1.5", "-0", "1e308", "-1e308", "1e-308", "0", "1e400"])
        case 3: return "\"\""
        case 4: return Self.quoted(pick(["NaN", "Infinity", "-Infinity", "nan", "1e308", "-0", "0x7fffffffffffffff"]))
        case 5: return Self.quoted(longString())
        case 6: return Self.quoted(unicodeString())
        case 7: return String(repeating: "[", count: int(1..<3000)) + String(repeating: "]", count: int(0..<3000))
        case 8: return String(repeating: "{\"a\":", count: int(1..<800)) + "1" + String(repeating: "}", count: int(0..<800))
        case 9: return pick(Self.integerEdges).isEmpty ? "0" : pick(Self.integerEdges.filter { Double($0) != nil && !$0.hasPrefix(" ") })
        case 10: return "\"\\ud800\""  // a lone surrogate
        case 11: return "\"\\u0000\""
        case 12: return pick(["NaN", "Infinity", "undefined", "'x'", "01", "+1", ".5"])  // not JSON
        default: return Self.quoted(String(repeating: "🙂", count: int(1..<300)))
        }
    }

    mutating func longString() -> String {
        // Under the 64 KiB frame limit with the rest of the request, over every field's own limit.
        String(repeating: pick(["a", "é", "\u{0}", "🙂", "."]), count: pick([65, 129, 4097, int(1..<14_000)]))
    }

    mutating func unicodeString() -> String {
        pick([
            "\u{0}", "\u{1}\u{1F}\u{7F}", "\u{202E}moor", "r\u{301}", "\u{FEFF}", "\u{FFFF}", "\u{10FFFF}", "\u{0085}", "room\n", "room\r\n",
            "ROOM", "room\u{0}", "..", ".", "-", "\u{3000}", "🙂", "\u{200B}", "a b", "a/b", "%00", "\\",
        ])
    }

    /// A random hostile frame. `id` is the session's fresh id for it; mutations may replace it.
    mutating func randomProbe(id: String, joined: [String], learned: LearnedValues) -> HostileProbe {
        let room = room(joined, learned)
        let ops = ["join", "leave", "send", "edit", "delete", "history", "typing", "read", "presence", "ping"]
        let myID = Self.quoted(id)
        switch int(0..<11) {
        case 0, 1:
            let field = pick(IntegerField.allCases)
            return integerProbe(field, pick(Self.integerEdges), id: id, joined: joined, learned: learned)
        case 2:
            // One field of a well-formed request gets a wrong or hostile value.
            let op = pick(ops)
            var members = wellFormed(op: op, room: room, learned: learned)
            let fields = ["op", "room", "since", "cmid", "body", "msgId", "before", "limit", "cursor", "id"]
            let field = pick(fields)
            let value = wrongValue()
            if let index = members.firstIndex(where: { $0.0 == field }) { members[index].1 = value } else { members.append((field, value)) }
            if field != "id" { members.insert(("id", myID), at: 0) }
            return HostileProbe(text: Self.object(members), label: "wrong \(field) of \(op)")
        case 3:
            let op = pick(["join", "history", "read"])
            let key = ["join": "since", "history": "before", "read": "cursor"][op]!
            let members = [
                ("op", Self.quoted(op)), ("id", myID), ("room", Self.quoted(room)), (key, Self.quoted(mutatedCursor(room: room, learned))),
            ]
            return HostileProbe(text: Self.object(members), label: "mutated cursor in \(op)")
        case 4:
            // Someone else's message, or one in another room.
            let messages = learned.messages
            let message = messages.isEmpty ? LearnedValues.Message(room: room, msgId: "0", from: "") : pick(messages)
            let target = chance(70) ? message.room : room
            var members = [
                ("op", chance(50) ? "\"edit\"" : "\"delete\""), ("id", myID), ("room", Self.quoted(target)), ("msgId", Self.quoted(message.msgId)),
            ]
            members.append(("body", "\"taken over\""))
            return HostileProbe(text: Self.object(members), label: "foreign msgId \(message.msgId) of \(message.from)")
        case 5:
            let op = pick(ops)
            var members = wellFormed(op: op, room: room, learned: learned)
            let field = pick(["room", "cmid", "body", "msgId", "id", "op"])
            let value = Self.quoted(chance(50) ? longString() : unicodeString())
            if let index = members.firstIndex(where: { $0.0 == field }) { members[index].1 = value } else { members.append((field, value)) }
            if field != "id" { members.insert(("id", myID), at: 0) }
            return HostileProbe(text: Self.object(members), label: "string \(field) of \(op)")
        case 6:
            // Duplicate keys: a valid value and a hostile one for the same field.
            let op = pick(["join", "history", "read", "send", "edit"])
            var members = [("id", myID)] + wellFormed(op: op, room: room, learned: learned)
            let field = pick(["op", "room", "since", "cursor", "before", "limit", "id", "msgId"])
            let hostile = field == "op" ? Self.quoted(pick(ops)) : (chance(50) ? wrongValue() : Self.quoted(mutatedCursor(room: room, learned)))
            members.insert((field, hostile), at: int(0..<(members.count + 1)))
            return HostileProbe(text: Self.object(members), label: "duplicate \(field) in \(op)")
        case 7:
            // Field limits at and just past their bounds.
            let cmid = String(repeating: "c", count: pick([1, 64, 65]))
            let body = String(repeating: pick(["b", "é"]), count: pick([1, 2048, 4096, 4097]))
            let members = [
                ("op", "\"send\""), ("id", myID), ("room", Self.quoted(room)), ("cmid", Self.quoted(cmid + "\(int(0..<1_000_000))")),
                ("body", Self.quoted(body)),
            ]
            return HostileProbe(text: Self.object(members), label: "send at limits")
        case 8:
            return HostileProbe(
                text: pick(["", " ", "[]", "null", "1", "\"op\"", "{", "{}", "{\"op\":}", "{\"op\":\"ping\"", "\u{0}"]), label: "junk")
        case 9:
            let members = [("op", "\"join\""), ("id", myID), ("room", Self.quoted(pick(learned.users.isEmpty ? ["x"] : learned.users)))]
            return HostileProbe(text: Self.object(members), label: "user id as room")
        default:
            let members =
                [("op", Self.quoted(pick(ops))), ("id", myID)] + wellFormed(op: pick(ops), room: room, learned: learned).filter { $0.0 != "op" }
            return HostileProbe(text: Self.object(members), label: "fields of another op")
        }
    }

    /// A valid request of `op` in `room` (without id).
    mutating func wellFormed(op: String, room: String, learned: LearnedValues) -> [(String, String)] {
        let real = cursor(in: room, learned).description
        var members = [("op", Self.quoted(op))]
        switch op {
        case "ping": break
        case "join": members += [("room", Self.quoted(room)), ("since", Self.quoted(real))]
        case "send": members += [("room", Self.quoted(room)), ("cmid", Self.quoted("h\(int(0..<1_000_000))")), ("body", "\"hostile\"")]
        case "edit": members += [("room", Self.quoted(room)), ("msgId", Self.quoted("\(int(0..<100))")), ("body", "\"e\"")]
        case "delete": members += [("room", Self.quoted(room)), ("msgId", Self.quoted("\(int(0..<100))"))]
        case "history": members += [("room", Self.quoted(room)), ("before", Self.quoted(real)), ("limit", "3")]
        case "read": members += [("room", Self.quoted(room)), ("cursor", Self.quoted(real))]
        default: members += [("room", Self.quoted(room))]
        }
        return members
    }
}
