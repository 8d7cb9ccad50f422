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
///
/// Patterns come from tokens, so they are hostile input: matching is greedy two-pointer wildcard
/// matching, at most (pattern length + 1) x (name length + 1) steps, never backtracking
/// recursively (`*a*a*a...b` took seconds with the recursive matcher).
public struct RoomPattern: Sendable, Hashable {
    public let pattern: String
    private let bytes: [UInt8]

    /// Longest pattern accepted from a token: a room name is at most 128 characters, and a pattern
    /// may add stars to it.
    public static let maxLength = 256
    /// Most patterns accepted in one token's `rooms` claim.
    public static let maxCount = 256

    public init(_ pattern: String) {
        self.pattern = pattern
        self.bytes = Array(pattern.utf8)
    }

    public static func == (lhs: RoomPattern, rhs: RoomPattern) -> Bool { lhs.pattern == rhs.pattern }
    public func hash(into hasher: inout Hasher) { hasher.combine(pattern) }

    public func matches(_ room: RoomName) -> Bool {
        var steps = 0
        return Self.match(bytes, Array(room.value.utf8), steps: &steps)
    }

    /// Matches `text` against `pattern`, counting loop iterations in `steps` (for tests that check
    /// the bound).
    ///
    /// On a mismatch after a star, only the most recent star is retried one character further:
    /// an earlier star never needs to absorb more, because whatever the later star's segment could
    /// match after a longer earlier run, the later star can absorb itself.
    public static func match(_ pattern: [UInt8], _ text: [UInt8], steps: inout Int) -> Bool {
        let star = UInt8(ascii: "*")
        var p = 0
        var t = 0
        var starAt = -1
        var resumeAt = 0
        while t < text.count {
            steps += 1
            if p < pattern.count, pattern[p] == star {
                starAt = p
                resumeAt = t
                p += 1
            } else if p < pattern.count, pattern[p] == text[t] {
                p += 1
                t += 1
            } else if starAt >= 0 {
                p = starAt + 1
                resumeAt += 1
                t = resumeAt
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == star {
            steps += 1
            p += 1
        }
        return p == pattern.count
    }
}
