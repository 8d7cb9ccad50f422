/// A validated room name: 1 to 128 characters of `[A-Za-z0-9._-]`.
public struct RoomName: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let value: String

    public static let maxLength = 128

    /// Returns `nil` for anything that is not a valid room name.
    public init?(_ value: String) {
        let bytes = value.utf8
        guard !bytes.isEmpty, bytes.count <= Self.maxLength, bytes.allSatisfy(Self.isAllowed) else { return nil }
        self.value = value
    }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }

    public var description: String { value }

    public static func < (lhs: RoomName, rhs: RoomName) -> Bool { lhs.value < rhs.value }
}

/// Matches room names against the `rooms` patterns of a token: `*` matches any run of characters.
public struct RoomPattern: Sendable, Hashable {
    public let pattern: String

    public init(_ pattern: String) { self.pattern = pattern }

    public func matches(_ room: RoomName) -> Bool {
        Self.match(Array(pattern.utf8)[...], Array(room.value.utf8)[...])
    }

    private static func match(_ pattern: ArraySlice<UInt8>, _ text: ArraySlice<UInt8>) -> Bool {
        guard let first = pattern.first else { return text.isEmpty }
        if first == UInt8(ascii: "*") {
            let rest = pattern.dropFirst()
            var suffix = text
            while true {
                if match(rest, suffix) { return true }
                guard !suffix.isEmpty else { return false }
                suffix = suffix.dropFirst()
            }
        }
        guard let head = text.first, head == first else { return false }
        return match(pattern.dropFirst(), text.dropFirst())
    }
}
