/// Writes one flat JSON object. Server frames are built with it instead of `JSONEncoder` because
/// they are written on the fan-out hot path, once per event, and shared by every subscriber.
public struct JSONWriter: Sendable {
    private var text = "{"
    private var first = true

    public init() {}

    private mutating func key(_ name: String) {
        if !first { text += "," }
        first = false
        text += "\""
        text += name
        text += "\":"
    }

    public mutating func add(_ name: String, _ value: String) {
        key(name)
        Self.appendQuoted(value, to: &text)
    }

    public mutating func add(_ name: String, _ value: String?) {
        guard let value else { return }
        add(name, value)
    }

    public mutating func add(_ name: String, _ value: Int64) {
        key(name)
        text += String(value)
    }

    public mutating func add(_ name: String, _ value: Int) {
        key(name)
        text += String(value)
    }

    public mutating func add(_ name: String, _ value: Bool) {
        key(name)
        text += value ? "true" : "false"
    }

    public mutating func add(_ name: String, _ value: RequestID?) {
        switch value {
        case .string(let string): add(name, string)
        case .number(let number):
            key(name)
            text += number
        case nil: break
        }
    }

    public mutating func add(_ name: String, strings: [String]) {
        key(name)
        text += "["
        for (index, value) in strings.enumerated() {
            if index > 0 { text += "," }
            Self.appendQuoted(value, to: &text)
        }
        text += "]"
    }

    /// Adds an already encoded JSON value (an object or an array).
    public mutating func add(_ name: String, rawJSON: String) {
        key(name)
        text += rawJSON
    }

    public consuming func finish() -> String {
        text += "}"
        return text
    }

    static func appendQuoted(_ value: String, to text: inout String) {
        text += "\""
        var needsEscaping = false
        for byte in value.utf8 where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
            needsEscaping = true
            break
        }
        if !needsEscaping {
            text += value
        } else {
            for scalar in value.unicodeScalars {
                switch scalar {
                case "\"": text += "\\\""
                case "\\": text += "\\\\"
                case "\n": text += "\\n"
                case "\r": text += "\\r"
                case "\t": text += "\\t"
                case _ where scalar.value < 0x20:
                    let hex = String(scalar.value, radix: 16)
                    text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                default:
                    text.unicodeScalars.append(scalar)
                }
            }
        }
        text += "\""
    }
}
