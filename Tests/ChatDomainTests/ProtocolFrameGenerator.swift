import ChatTestSupport
import Foundation

/// Client frames as the byte-level parser meets them: every op with valid fields, written with
/// the freedoms JSON allows (escapes, whitespace, key order, duplicates, trailing commas, byte
/// order marks) and broken in the ways that parser must refuse (bad escapes, lone surrogates,
/// invalid UTF-8, numbers past `Double`, deep nesting, truncation, trailing bytes).
struct ProtocolFrameGenerator {
    var fuzzer: FrameFuzzer

    init(seed: UInt64) { fuzzer = FrameFuzzer(seed: seed) }

    static let cursor = "00000000000000ff.3.42"
    static let numbers =
        FrameFuzzer.numbers + [
            "2", "2.0", "1e2", "1E2", "1e+2", "200", "200.0", "2e2", "1.5e1", "-0.0", "0.0", "1e-400", "1e308", "1.7976931348623157e308",
            "1.7976931348623159e308", "9007199254740993", "12345678901234567", "-9223372036854775808", "18446744073709551615",
            "01", "1.", ".5", "-", "+1", "1e", "1e+", "0x10", "1.5.1", "--1",
        ]

    /// The fields of one op, with values that pass.
    mutating func validMembers(op: String) -> [(String, String)] {
        let room = ["r", "room-1", "a.b_c-D9", String(repeating: "x", count: 128)][fuzzer.int(0..<4)]
        var members: [(String, String)] = [("op", quoted(op)), ("room", quoted(room))]
        switch op {
        case "join": if fuzzer.chance(50) { members.append(("since", quoted(Self.cursor))) }
        case "send": members += [("cmid", quoted(text(maxLength: 64))), ("body", quoted(text(maxLength: 300)))]
        case "edit": members += [("msgId", quoted(String(fuzzer.int(0..<100_000)))), ("body", quoted(text(maxLength: 300)))]
        case "delete": members.append(("msgId", quoted(String(fuzzer.int(0..<100_000)))))
        case "history":
            if fuzzer.chance(50) { members.append(("before", quoted(Self.cursor))) }
            if fuzzer.chance(70) { members.append(("limit", fuzzer.chance(70) ? String(fuzzer.int(1..<201)) : number())) }
        case "read": members.append(("cursor", quoted(Self.cursor)))
        case "ping": members.removeLast()
        case "auth": members[1] = ("token", quoted("a.b." + text(maxLength: 40)))
        default: break
        }
        if fuzzer.chance(60) {
            let id = [quoted(text(maxLength: 20)), String(fuzzer.int(-5..<100_000)), number(), "null", "true", "[1]", "{}"][fuzzer.int(0..<7)]
            members.append(("id", id))
        }
        return members
    }

    /// Nonempty text with non-ASCII characters, escapable characters and byte order marks.
    mutating func text(maxLength: Int) -> String {
        let pieces = [
            "a", "Z", "9", " ", "é", "🙂", "\u{FEFF}", "\"", "\\", "/", "\n", "\t", "\u{0}", "\u{1F}", "\u{7F}", "\u{FFFF}", "K", "\u{212A}",
        ]
        var text = ""
        for _ in 0..<fuzzer.int(1..<max(2, min(maxLength, 40))) { text += pieces[fuzzer.int(0..<pieces.count)] }
        return text
    }

    mutating func number() -> String { Self.numbers[fuzzer.int(0..<Self.numbers.count)] }

    /// A JSON string literal for `text`, each character written plainly or escaped at random.
    mutating func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += fuzzer.chance(50) ? "\\n" : "\\u000a"
            case "\t": out += fuzzer.chance(50) ? "\\t" : "\\u0009"
            case "/": out += fuzzer.chance(50) ? "/" : "\\/"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            case _ where fuzzer.chance(15): out += escaped(scalar)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// `\uXXXX`, or a surrogate pair, in either case.
    mutating func escaped(_ scalar: Unicode.Scalar) -> String {
        let units = String(scalar).utf16.map { String(format: fuzzer.chance(50) ? "\\u%04x" : "\\u%04X", $0) }
        return units.joined()
    }

    mutating func whitespace() -> String {
        guard fuzzer.chance(20) else { return "" }
        return (0..<fuzzer.int(1..<4)).map { _ in [" ", "\t", "\n", "\r"][fuzzer.int(0..<4)] }.joined()
    }

    /// An object from members, keys sometimes escaped, duplicated or followed by a trailing comma.
    mutating func object(_ members: [(String, String)]) -> String {
        var members = members
        for _ in 0..<fuzzer.int(0..<3) where fuzzer.chance(40) {
            let unknown = ["extra", "x", "", "Op", "op ", "\u{FEFF}op", "ids", "bodies"][fuzzer.int(0..<8)]
            members.insert((unknown, unknownValue(depth: 0)), at: fuzzer.int(0..<(members.count + 1)))
        }
        if fuzzer.chance(15), let member = members.randomElement(using: &fuzzer.random) {
            // A duplicate, before or after: the last one wins.
            let value = ["null", "1", quoted("nope"), member.1, "1e400", "[1e400]"][fuzzer.int(0..<6)]
            members.insert((member.0, value), at: fuzzer.chance(50) ? 0 : members.count)
        }
        if fuzzer.chance(20) { members.shuffle(using: &fuzzer.random) }
        let body = members.map { key, value in
            let keyText = key.hasPrefix("\u{FEFF}") ? "\"\(key)\"" : quoted(key)
            return whitespace() + keyText + whitespace() + ":" + whitespace() + value + whitespace()
        }.joined(separator: ",")
        return "{" + body + (fuzzer.chance(10) ? "," : "") + whitespace() + "}"
    }

    /// A value for a member the protocol does not read.
    mutating func unknownValue(depth: Int) -> String {
        switch fuzzer.int(0..<(depth > 3 ? 4 : 7)) {
        case 0: return number()
        case 1: return ["true", "false", "null"][fuzzer.int(0..<3)]
        case 2, 3: return quoted(text(maxLength: 30))
        case 4: return "[" + (0..<fuzzer.int(0..<4)).map { _ in unknownValue(depth: depth + 1) }.joined(separator: ",") + "]"
        case 5: return object((0..<fuzzer.int(0..<3)).map { _ in (text(maxLength: 5), unknownValue(depth: depth + 1)) })
        default:
            // Around the depth bound (64 with the frame's own object).
            let levels = fuzzer.int(55..<75)
            return String(repeating: "[", count: levels) + String(repeating: "]", count: levels)
        }
    }

    /// Bytes that break a frame at a random place.
    mutating func breakage(_ frame: [UInt8]) -> [UInt8] {
        var bytes = frame
        let position = fuzzer.int(0..<(bytes.count + 1))
        let inserts: [[UInt8]] = [
            Array(#"\uD800"#.utf8), Array(#"\uDC00"#.utf8), Array(#"\uD800\u0041"#.utf8), Array(#"\uD83D\uDE00"#.utf8), Array(#"\x"#.utf8),
            Array(#"\u12G4"#.utf8), [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xFF], [0xE2, 0x82], [0x80],
            [0xEF, 0xBB, 0xBF], [0x00], [0x0B], [0xC2, 0xA0], Array(",".utf8), Array("}".utf8), Array("]".utf8), Array("\"".utf8),
            Array(":".utf8), Array("1e400".utf8), Array("{}".utf8), Array(" x".utf8),
        ]
        switch fuzzer.int(0..<4) {
        case 0: bytes.insert(contentsOf: inserts[fuzzer.int(0..<inserts.count)], at: position)
        case 1: bytes = Array(bytes.prefix(position))
        case 2: if position < bytes.count { bytes.remove(at: position) }
        default: bytes += inserts[fuzzer.int(0..<inserts.count)]
        }
        return bytes
    }

    /// One generated frame.
    mutating func frame() -> [UInt8] {
        let ops = ["join", "leave", "send", "edit", "delete", "history", "typing", "read", "presence", "ping", "auth"]
        let op = ops[fuzzer.int(0..<ops.count)]
        var bytes = Array((whitespace() + object(validMembers(op: op)) + whitespace()).utf8)
        if fuzzer.chance(3) { bytes = [0xEF, 0xBB, 0xBF] + bytes }
        switch fuzzer.int(0..<10) {
        case 0..<5: return bytes
        case 5..<9: return breakage(fuzzer.chance(30) ? breakage(bytes) : bytes)
        default: return Array((fuzzer.chance(50) ? fuzzer.frame() : unknownValue(depth: 0)).utf8)
        }
    }
}
