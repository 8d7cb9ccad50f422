/// A JSON syntax error in a client frame.
enum FrameSyntaxError: Error {
    /// Anything that is not JSON the frame parser accepts.
    case malformed
    /// Containers nested deeper than ``FrameScanner/maxDepth``.
    case tooDeep
}

/// A string token: the bytes between its quotes, still escaped.
struct StringToken {
    var start: Int
    var end: Int
    /// Whether decoding has more to do than copy the bytes: an escape, or a byte order mark where
    /// the Foundation decoder the parser replaced dropped one (see ``FrameScanner/decode(_:)``).
    var needsDecoding: Bool
}

/// A scalar or container value, as the frame parser needs to know it.
enum ValueToken {
    case string(StringToken)
    /// The number's text; `finite` is whether it converts to a finite `Double`.
    case number(start: Int, end: Int, finite: Bool)
    case bool
    case null
    case container
}

/// Scans one JSON document in place, from UTF-8 bytes: validates everything and materializes
/// nothing; strings and numbers come back as ranges of the input.
///
/// The grammar is RFC 8259 plus what Foundation's `JSONSerialization` (the parser this replaced)
/// accepts on top, so that no client sees a difference: a trailing comma before `]` or `}`.
/// Containers are tracked in a 64-bit stack instead of recursion, so no input can exhaust the
/// thread's stack.
struct FrameScanner {
    /// Deepest nesting of arrays and objects accepted, the frame's own object included. Protocol
    /// frames are flat; the bound keeps the container stack in one machine word.
    static let maxDepth = 64

    let bytes: UnsafeRawBufferPointer
    var index: Int
    /// Whether a number that does not fit a `Double` was seen anywhere.
    var sawNonFiniteNumber = false

    init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
        // A leading UTF-8 byte order mark is skipped, as JSONSerialization's encoding detection did.
        index = Self.hasByteOrderMark(bytes, at: 0) ? 3 : 0
    }

    var isAtEnd: Bool { index >= bytes.count }

    @inline(__always)
    func byte(at position: Int) -> UInt8? {
        position < bytes.count ? bytes[position] : nil
    }

    static func hasByteOrderMark(_ bytes: UnsafeRawBufferPointer, at position: Int) -> Bool {
        position + 2 < bytes.count && bytes[position] == 0xEF && bytes[position + 1] == 0xBB && bytes[position + 2] == 0xBF
    }

    /// Skips JSON whitespace and returns the next byte, if any.
    @inline(__always)
    mutating func skipWhitespace() -> UInt8? {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return bytes[index]
            }
        }
        return nil
    }

    /// Consumes `byte` after optional whitespace.
    mutating func expect(_ expected: UInt8) throws(FrameSyntaxError) {
        guard skipWhitespace() == expected else { throw .malformed }
        index += 1
    }

    // MARK: Values

    /// Scans one value of any kind at `depth` (the number of containers around it) and returns
    /// what it is; containers are validated and skipped.
    mutating func value(depth: Int) throws(FrameSyntaxError) -> ValueToken {
        guard let first = skipWhitespace() else { throw .malformed }
        switch first {
        case UInt8(ascii: "\""):
            return .string(try string())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try number()
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "["), UInt8(ascii: "{"):
            try skipContainer(depth: depth)
            return .container
        default:
            throw .malformed
        }
    }

    private mutating func literal(_ word: StaticString) throws(FrameSyntaxError) {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw .malformed }
        let expected = word.utf8Start
        for offset in 0..<count where bytes[index + offset] != expected[offset] { throw .malformed }
        index += count
    }

    /// Validates the array or object at `index` without recursion: `stack` holds one bit per open
    /// container (1 for an object), innermost lowest.
    private mutating func skipContainer(depth outer: Int) throws(FrameSyntaxError) {
        var stack: UInt64 = 0
        var depth = 0
        // Each turn starts where a value is expected, or at a container's first member.
        while true {
            guard let first = skipWhitespace() else { throw .malformed }
            var closed = false
            switch first {
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                guard outer + depth < Self.maxDepth else { throw .tooDeep }
                let isObject = first == UInt8(ascii: "{")
                stack = stack << 1 | (isObject ? 1 : 0)
                depth += 1
                index += 1
                let next = skipWhitespace()
                if next == (isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")) {
                    index += 1
                    closed = true
                } else if isObject {
                    try memberKey()
                    continue
                } else {
                    continue
                }
            default:
                _ = try value(depth: outer + depth)
            }
            // After a value (or an empty container): close containers or move to the next member.
            while true {
                if !closed {
                    if depth == 0 { return }
                } else {
                    stack >>= 1
                    depth -= 1
                    closed = false
                    if depth == 0 { return }
                }
                let isObject = stack & 1 == 1
                let close = isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")
                guard let next = skipWhitespace() else { throw .malformed }
                if next == close {
                    index += 1
                    closed = true
                    continue
                }
                guard next == UInt8(ascii: ",") else { throw .malformed }
                index += 1
                if skipWhitespace() == close {
                    index += 1
                    closed = true
                    continue
                }
                if isObject { try memberKey() }
                break
            }
        }
    }

    /// An object member's key and its colon.
    private mutating func memberKey() throws(FrameSyntaxError) {
        guard skipWhitespace() == UInt8(ascii: "\"") else { throw .malformed }
        _ = try string()
        try expect(UInt8(ascii: ":"))
    }

    // MARK: Strings

    /// Scans a string at `index` (its opening quote): escapes, surrogate pairs and UTF-8 are
    /// validated here, so decoding it later cannot fail.
    mutating func string() throws(FrameSyntaxError) -> StringToken {
        index += 1
        let start = index
        var needsDecoding = Self.hasByteOrderMark(bytes, at: index)
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                let token = StringToken(start: start, end: index, needsDecoding: needsDecoding)
                index += 1
                return token
            case UInt8(ascii: "\\"):
                needsDecoding = true
                try escape()
            case 0..<0x20:
                throw .malformed
            case 0..<0x80:
                index += 1
            default:
                try multiByteScalar(lead: byte)
            }
        }
        throw .malformed
    }

    private mutating func escape() throws(FrameSyntaxError) {
        guard let kind = byte(at: index + 1) else { throw .malformed }
        switch kind {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
            UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            index += 2
        case UInt8(ascii: "u"):
            let unit = try hexUnit(at: index + 2)
            index += 6
            switch unit {
            case 0xD800...0xDBFF:
                // A high surrogate must be followed by an escaped low one.
                guard byte(at: index) == UInt8(ascii: "\\"), byte(at: index + 1) == UInt8(ascii: "u"),
                    (0xDC00...0xDFFF).contains(try hexUnit(at: index + 2))
                else { throw .malformed }
                index += 6
            case 0xDC00...0xDFFF:
                throw .malformed
            default:
                break
            }
        default:
            throw .malformed
        }
    }

    /// The four hex digits at `position` as a UTF-16 code unit.
    func hexUnit(at position: Int) throws(FrameSyntaxError) -> UInt16 {
        guard position + 4 <= bytes.count else { throw .malformed }
        var unit: UInt16 = 0
        for offset in 0..<4 {
            let digit: UInt8
            switch bytes[position + offset] {
            case let byte where byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case let byte where byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case let byte where byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw .malformed
            }
            unit = unit << 4 | UInt16(digit)
        }
        return unit
    }

    /// Validates one well-formed UTF-8 sequence of 2 to 4 bytes (no overlongs, no surrogates,
    /// nothing above U+10FFFF).
    private mutating func multiByteScalar(lead: UInt8) throws(FrameSyntaxError) {
        let length: Int
        var low: UInt8 = 0x80
        var high: UInt8 = 0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0:
            length = 3
            low = 0xA0
        case 0xE1...0xEC, 0xEE...0xEF: length = 3
        case 0xED:
            length = 3
            high = 0x9F
        case 0xF0:
            length = 4
            low = 0x90
        case 0xF1...0xF3: length = 4
        case 0xF4:
            length = 4
            high = 0x8F
        default: throw .malformed
        }
        guard index + length <= bytes.count else { throw .malformed }
        let second = bytes[index + 1]
        guard second >= low, second <= high else { throw .malformed }
        for offset in 2..<max(2, length) where bytes[index + offset] & 0xC0 != 0x80 { throw .malformed }
        index += length
    }

    // MARK: Numbers

    /// Scans a number (RFC 8259 grammar) and decides whether it converts to a finite `Double`
    /// without converting it: only numbers near `Double`'s largest magnitude are converted.
    private mutating func number() throws(FrameSyntaxError) -> ValueToken {
        let start = index
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        // The decimal exponent of the first significant digit, and whether there is one.
        var magnitude = 0
        var significant = false
        guard let first = byte(at: index), isDigit(first) else { throw .malformed }
        if first == UInt8(ascii: "0") {
            index += 1
        } else {
            significant = true
            while let digit = byte(at: index), isDigit(digit) {
                magnitude += 1
                index += 1
            }
            magnitude -= 1
        }
        if byte(at: index) == UInt8(ascii: ".") {
            index += 1
            var position = 0
            guard let digit = byte(at: index), isDigit(digit) else { throw .malformed }
            while let digit = byte(at: index), isDigit(digit) {
                position += 1
                if !significant, digit != UInt8(ascii: "0") {
                    significant = true
                    magnitude = -position
                }
                index += 1
            }
        }
        if let marker = byte(at: index), marker == UInt8(ascii: "e") || marker == UInt8(ascii: "E") {
            index += 1
            var negative = false
            if let sign = byte(at: index), sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
                negative = sign == UInt8(ascii: "-")
                index += 1
            }
            guard let digit = byte(at: index), isDigit(digit) else { throw .malformed }
            var exponent = 0
            while let digit = byte(at: index), isDigit(digit) {
                // Saturates: far past Double's range either way.
                exponent = min(exponent * 10 + Int(digit - UInt8(ascii: "0")), 1 << 40)
                index += 1
            }
            magnitude += negative ? -exponent : exponent
        }
        var finite = true
        if significant, magnitude >= 308 {
            // 1e308 fits, 1e309 does not; between them only a conversion can tell.
            finite = magnitude == 308 && (Double(text(start, index)) ?? .infinity).isFinite
        }
        if !finite { sawNonFiniteNumber = true }
        return .number(start: start, end: index, finite: finite)
    }

    @inline(__always)
    private func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    /// The bytes of a range as a String (for tokens already validated).
    func text(_ start: Int, _ end: Int) -> String {
        String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
    }
}
