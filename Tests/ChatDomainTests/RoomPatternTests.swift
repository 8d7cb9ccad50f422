import ChatDomain
import ChatTestSupport
import Testing

@Suite("Room patterns of tokens")
struct RoomPatternTests {
    /// The textbook dynamic program: `matched[i][j]` says whether the first i pattern bytes match
    /// the first j name bytes.
    static func reference(_ pattern: [UInt8], _ text: [UInt8]) -> Bool {
        let star = UInt8(ascii: "*")
        var matched = [[Bool]](repeating: [Bool](repeating: false, count: text.count + 1), count: pattern.count + 1)
        matched[0][0] = true
        for i in stride(from: 1, through: pattern.count, by: 1) {
            for j in 0...text.count {
                if pattern[i - 1] == star {
                    matched[i][j] = matched[i - 1][j] || (j > 0 && matched[i][j - 1])
                } else {
                    matched[i][j] = j > 0 && matched[i - 1][j - 1] && pattern[i - 1] == text[j - 1]
                }
            }
        }
        return matched[pattern.count][text.count]
    }

    @Test("Matches like the reference on many small patterns and names")
    func agreesWithReference() {
        var generator = SeededGenerator(seed: 0x5eed)
        let alphabet: [UInt8] = Array("ab*".utf8)
        for _ in 0..<20_000 {
            let pattern = (0..<Int.random(in: 0...8, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! }
            let name = (1...Int.random(in: 1...10, using: &generator)).map { _ in alphabet[Int.random(in: 0...1, using: &generator)] }
            var steps = 0
            let matched = RoomPattern.match(pattern, name, steps: &steps)
            #expect(
                matched == Self.reference(pattern, name),
                "\(String(decoding: pattern, as: UTF8.self)) vs \(String(decoding: name, as: UTF8.self))")
            #expect(steps <= (pattern.count + 1) * (name.count + 1))
        }
    }

    @Test("Named cases")
    func namedCases() {
        let cases: [(String, String, Bool)] = [
            ("public-*", "public-1", true), ("public-*", "public-", true), ("public-*", "private-1", false),
            ("help", "help", true), ("help", "helpdesk", false), ("*", "x", true), ("*-team", "red-team", true),
            ("a*b*c", "aXbYc", true), ("a*b*c", "aXbY", false), ("**", "z", true), ("", "z", false),
        ]
        for (pattern, name, expected) in cases {
            #expect(RoomPattern(pattern).matches(RoomName(name)!) == expected, "\(pattern) vs \(name)")
        }
    }

    @Test("A hostile pattern (30 stars) against a 128-character name ends within the quadratic bound")
    func hostilePattern() {
        let pattern = Array((String(repeating: "*a", count: 30) + "*b").utf8)
        let name = Array(String(repeating: "a", count: 128).utf8)
        var steps = 0
        // The recursive matcher this replaced took about C(128, 30) steps here: it never ended.
        #expect(RoomPattern.match(pattern, name, steps: &steps) == false)
        #expect(steps <= (pattern.count + 1) * (name.count + 1))
        #expect(RoomPattern.match(pattern, name + [UInt8(ascii: "b")], steps: &steps) == true)
        #expect(RoomPattern(String(decoding: pattern, as: UTF8.self)).matches(RoomName(String(repeating: "a", count: 127) + "b")!))
    }
}
