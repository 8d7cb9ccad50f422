import ChatDomain
import ChatTestSupport
import Foundation
import Testing

/// The byte-level parser against the JSONSerialization parser it replaced: the same result, byte
/// for byte, for generated frames, except in the differences the replacement makes on purpose.
@Suite struct FrameParserDifferentialTests {
    static let seed: UInt64 = 0xB17E_5CA1
    let parser = ClientFrameParser()
    let reference = ReferenceFrameParser()

    /// Results compared on their bytes: `ClientFrame`'s `==` compares strings by canonical
    /// equivalence, which would hide a decoded K where a KELVIN SIGN was sent.
    static func bytes(_ result: Result<ClientFrame, ProtocolError>) -> [UInt8] {
        Array(String(reflecting: result).utf8)
    }

    /// Why the two parsers may differ on `input`, or `nil` when they must agree.
    func intendedDifference(_ input: [UInt8], new: Result<ClientFrame, ProtocolError>) -> String? {
        if case .failure(let error) = new, error.message.hasPrefix("malformed JSON: nested deeper") {
            // Bounded at 64 levels; JSONSerialization went to 512.
            return Self.depth(input) > FrameScanner64.maxDepth ? "depth" : nil
        }
        if Self.looksLikeUTF16Or32(input), case .failure = new {
            // JSONSerialization guessed other encodings from zero bytes; a text frame is UTF-8.
            return "encoding"
        }
        if reference.usesDecimal(Data(input)) {
            // Foundation's Decimal converts to Double without correct rounding.
            return "decimal"
        }
        return nil
    }

    /// JSONSerialization's encoding detection: UTF-16 or UTF-32 byte order marks, or zero bytes
    /// among the first four.
    static func looksLikeUTF16Or32(_ bytes: [UInt8]) -> Bool {
        if bytes.starts(with: [0xFE, 0xFF]) || bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0, 0, 0xFE, 0xFF]) { return true }
        if bytes.count >= 4 {
            let zero = bytes.prefix(4).map { $0 == 0 }
            return zero[0] && zero[1] && zero[2] || zero[1] && zero[2] && zero[3] || zero[0] && zero[2] || zero[1] && zero[3]
        }
        if bytes.count >= 2 { return bytes[0] == 0 || bytes[1] == 0 }
        return false
    }

    /// The deepest nesting of brackets outside strings.
    static func depth(_ bytes: [UInt8]) -> Int {
        var depth = 0
        var deepest = 0
        var inString = false
        var escaped = false
        for byte in bytes {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                deepest = max(deepest, depth)
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return deepest
    }

    func compare(_ input: [UInt8], _ label: String, differences: inout [String: Int]) -> Bool {
        let new = input.withUnsafeBytes { parser.parse(bytes: $0) }
        let old = reference.parse(Data(input))
        if Self.bytes(new) == Self.bytes(old) { return true }
        if let reason = intendedDifference(input, new: new) {
            differences[reason, default: 0] += 1
            return true
        }
        Issue.record("\(label): \(String(decoding: input.prefix(300), as: UTF8.self).debugDescription)\nnew: \(new)\nold: \(old)")
        return false
    }

    @Test func generatedProtocolFramesParseAsBefore() {
        var generator = ProtocolFrameGenerator(seed: Self.seed)
        var differences: [String: Int] = [:]
        var accepted = 0
        var failures = 0
        for index in 0..<40_000 where failures < 20 {
            let input = generator.frame()
            if !compare(input, "seed \(Self.seed) frame \(index)", differences: &differences) { failures += 1 }
            if case .success = reference.parse(Data(input)) { accepted += 1 }
        }
        // Both outcomes, and every kind of frame, are exercised.
        #expect(accepted > 10_000, "\(accepted) accepted")
        #expect(differences.values.reduce(0, +) < 4_000, "\(differences)")
        #expect(differences["depth", default: 0] > 0)
    }

    @Test func fuzzedFramesParseAsBefore() {
        var fuzzer = FrameFuzzer(seed: Self.seed ^ 1)
        var differences: [String: Int] = [:]
        var failures = 0
        for index in 0..<15_000 where failures < 20 {
            if !compare(Array(fuzzer.frame().utf8), "seed \(Self.seed ^ 1) frame \(index)", differences: &differences) { failures += 1 }
            if !compare(Array(fuzzer.bytes()), "seed \(Self.seed ^ 1) bytes \(index)", differences: &differences) { failures += 1 }
        }
    }
}

/// The depth bound as the tests state it (the scanner is internal to ChatDomain).
enum FrameScanner64 {
    static let maxDepth = 64
}
