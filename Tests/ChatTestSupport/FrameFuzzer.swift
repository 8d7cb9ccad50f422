import Foundation

/// Random and mutated client frames: valid-looking requests with random ops, fields and types,
/// deep nesting, huge numbers, strings decoded from invalid UTF-8, and byte-level mutations.
public struct FrameFuzzer {
    public var random: SeededGenerator

    public static let ops = [
        "join", "leave", "send", "edit", "delete", "history", "typing", "read", "presence", "ping", "", "JOIN", "nope", "send\u{0}",
    ]
    public static let fields = ["op", "id", "room", "since", "cmid", "body", "msgId", "before", "limit", "cursor", "extra", ""]
    public static let numbers = [
        "0", "-0", "1e999999", "-1e999999", "123456789012345678901234567890123456789", "9223372036854775808", "-9223372036854775809",
        "1.5", "1e-400", "4294967296", "201", "-1", "NaN", "Infinity",
    ]

    public init(seed: UInt64) { random = SeededGenerator(seed: seed) }

    public mutating func int(_ range: Range<Int>) -> Int { Int.random(in: range, using: &random) }
    public mutating func chance(_ percent: Int) -> Bool { int(0..<100) < percent }

    /// A string from random bytes: often invalid UTF-8, repaired with U+FFFD by the decoder, plus
    /// controls, quotes and backslashes that need escaping.
    public mutating func string() -> String {
        switch int(0..<6) {
        case 0: return String(decoding: (0..<int(0..<40)).map { _ in UInt8.random(in: 0...255, using: &random) }, as: UTF8.self)
        case 1: return String(repeating: "a", count: int(0..<5000))
        case 2: return ["", "r", "room-1", "a.b_c-D", "../etc", "room 1", "é", "\u{0}", "\"", "\\", "\u{FFFF}", "🙂"][int(0..<12)]
        case 3: return "\(int(0..<1000)).\(int(-3..<10)).\(int(-3..<100000))"
        default: return String((0..<int(0..<20)).map { _ in Character(Unicode.Scalar(UInt8.random(in: 32...126, using: &random))) })
        }
    }

    /// A random JSON value, as text (not always valid: numbers can be out of JSON's grammar).
    public mutating func value(depth: Int = 0) -> String {
        switch int(0..<(depth > 4 ? 4 : 7)) {
        case 0: return Self.numbers[int(0..<Self.numbers.count)]
        case 1: return ["true", "false", "null"][int(0..<3)]
        case 2, 3: return quoted(string())
        case 4: return "[" + (0..<int(0..<4)).map { _ in value(depth: depth + 1) }.joined(separator: ",") + "]"
        case 5: return object(depth: depth + 1)
        default: return String(repeating: "[", count: int(1..<600)) + String(repeating: "]", count: int(0..<600))
        }
    }

    public mutating func object(depth: Int) -> String {
        var members: [String] = []
        if chance(85) { members.append("\"op\":" + (chance(80) ? quoted(Self.ops[int(0..<Self.ops.count)]) : value(depth: depth))) }
        for _ in 0..<int(0..<6) {
            members.append(quoted(Self.fields[int(0..<Self.fields.count)]) + ":" + value(depth: depth))
        }
        return "{" + members.joined(separator: ",") + "}"
    }

    public func quoted(_ text: String) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: [text], options: [.fragmentsAllowed])) ?? Data("[\"\"]".utf8), as: UTF8.self)
            .dropFirst().dropLast().description
    }

    /// A frame: a random request, a mutation of one, or raw junk.
    public mutating func frame() -> String {
        switch int(0..<10) {
        case 0..<5: return object(depth: 0)
        case 5..<8: return mutate(object(depth: 0))
        case 8: return value()
        default: return String(repeating: "{\"a\":", count: int(1..<3000)) + "1" + String(repeating: "}", count: int(0..<3000))
        }
    }

    /// Inserts, deletes, duplicates or flips bytes.
    public mutating func mutate(_ text: String) -> String {
        var bytes = Array(text.utf8)
        for _ in 0..<int(1..<5) {
            let position = bytes.isEmpty ? 0 : int(0..<bytes.count)
            switch int(0..<4) {
            case 0: bytes.insert(UInt8.random(in: 0...255, using: &random), at: position)
            case 1: if !bytes.isEmpty { bytes.remove(at: position) }
            case 2: if !bytes.isEmpty { bytes[position] ^= UInt8(1 << int(0..<8)) }
            default: if !bytes.isEmpty { bytes.insert(contentsOf: bytes[position...].prefix(int(1..<20)), at: position) }
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Raw bytes for `parse(Data)`: invalid UTF-8 straight through, not repaired.
    public mutating func bytes() -> Data {
        var data = Data(object(depth: 0).utf8)
        for _ in 0..<int(1..<4) where !data.isEmpty {
            data[int(0..<data.count)] = [0xC0, 0xFF, 0xED, 0xF8, 0x80, 0x00][int(0..<6)]
        }
        return data
    }
}
