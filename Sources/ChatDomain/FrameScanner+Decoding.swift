/// Turning validated tokens into values, and the one question only the whole document answers.
extension FrameScanner {
    /// The string a token stands for. A token without escapes is copied once; escapes are decoded
    /// straight into the new string's storage (decoding never lengthens).
    ///
    /// A byte order mark at the start of the string or right after an escape is dropped: Foundation
    /// decoded each run between escapes on its own and stripped one there, and clients' strings
    /// must come out as they did.
    func decode(_ token: StringToken) -> String {
        guard token.needsDecoding else { return text(token.start, token.end) }
        return String(unsafeUninitializedCapacity: token.end - token.start) { output in
            var count = 0
            var position = token.start
            var runStart = true
            while position < token.end {
                if runStart {
                    runStart = false
                    if Self.hasByteOrderMark(bytes, at: position), position + 3 <= token.end { position += 3 }
                    continue
                }
                let byte = bytes[position]
                guard byte == UInt8(ascii: "\\") else {
                    output[count] = byte
                    count += 1
                    position += 1
                    continue
                }
                runStart = true
                let kind = bytes[position + 1]
                position += 2
                switch kind {
                case UInt8(ascii: "b"): output[count] = 0x08
                case UInt8(ascii: "f"): output[count] = 0x0C
                case UInt8(ascii: "n"): output[count] = 0x0A
                case UInt8(ascii: "r"): output[count] = 0x0D
                case UInt8(ascii: "t"): output[count] = 0x09
                case UInt8(ascii: "u"):
                    // The scan validated the digits and the pairing.
                    var scalar = UInt32((try? hexUnit(at: position)) ?? 0xFFFD)
                    position += 4
                    if (0xD800...0xDBFF).contains(scalar) {
                        let low = UInt32((try? hexUnit(at: position + 2)) ?? 0xDC00)
                        scalar = 0x10000 + (scalar - 0xD800) << 10 + (low - 0xDC00)
                        position += 6
                    }
                    count += Self.encode(scalar, into: output, at: count)
                    continue
                default: output[count] = kind  // \" \\ \/
                }
                count += 1
            }
            return count
        }
    }

    /// Writes a scalar as UTF-8; returns the number of bytes.
    private static func encode(_ scalar: UInt32, into output: UnsafeMutableBufferPointer<UInt8>, at offset: Int) -> Int {
        switch scalar {
        case 0..<0x80:
            output[offset] = UInt8(scalar)
            return 1
        case 0x80..<0x800:
            output[offset] = UInt8(0xC0 | scalar >> 6)
            output[offset + 1] = UInt8(0x80 | scalar & 0x3F)
            return 2
        case 0x800..<0x10000:
            output[offset] = UInt8(0xE0 | scalar >> 12)
            output[offset + 1] = UInt8(0x80 | scalar >> 6 & 0x3F)
            output[offset + 2] = UInt8(0x80 | scalar & 0x3F)
            return 3
        default:
            output[offset] = UInt8(0xF0 | scalar >> 18)
            output[offset + 1] = UInt8(0x80 | scalar >> 12 & 0x3F)
            output[offset + 2] = UInt8(0x80 | scalar >> 6 & 0x3F)
            output[offset + 3] = UInt8(0x80 | scalar & 0x3F)
            return 4
        }
    }

    /// Whether a number that does not fit a `Double` remains once every object keeps only the last
    /// of its duplicate keys, scanning the value at `index`.
    ///
    /// JSONSerialization refused such a number only if it survived that way (it converted numbers
    /// after building each dictionary), so this decides the rare frame that holds one. It builds
    /// real dictionaries, with Swift's key equality; the depth is already bounded by the scan.
    mutating func holdsNonFiniteNumber() throws(FrameSyntaxError) -> Bool {
        switch skipWhitespace() {
        case UInt8(ascii: "{"):
            index += 1
            var members: [String: Bool] = [:]
            if skipWhitespace() == UInt8(ascii: "}") {
                index += 1
                return false
            }
            while true {
                guard skipWhitespace() == UInt8(ascii: "\"") else { throw .malformed }
                let key = decode(try string())
                try expect(UInt8(ascii: ":"))
                members[key] = try holdsNonFiniteNumber()
                guard try endOfMember(close: UInt8(ascii: "}")) else { continue }
                return members.values.contains(true)
            }
        case UInt8(ascii: "["):
            index += 1
            var holds = false
            if skipWhitespace() == UInt8(ascii: "]") {
                index += 1
                return false
            }
            while true {
                if try holdsNonFiniteNumber() { holds = true }
                guard try endOfMember(close: UInt8(ascii: "]")) else { continue }
                return holds
            }
        default:
            if case .number(_, _, let finite) = try value(depth: 0) { return !finite }
            return false
        }
    }

    /// After a member: consumes `,` (returning false: another member follows) or the closing
    /// byte, trailing comma allowed (returning true).
    mutating func endOfMember(close: UInt8) throws(FrameSyntaxError) -> Bool {
        guard let next = skipWhitespace() else { throw .malformed }
        if next == close {
            index += 1
            return true
        }
        guard next == UInt8(ascii: ",") else { throw .malformed }
        index += 1
        if skipWhitespace() == close {
            index += 1
            return true
        }
        return false
    }
}
