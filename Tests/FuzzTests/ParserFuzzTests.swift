import ChatDomain
import ChatGateway
import ChatTestSupport
import Foundation
import Testing

/// Throws ~20,000 generated inputs at the parsing surfaces a client controls.
@Suite struct ParserFuzzTests {
    static let seed: UInt64 = 0x5EED_C4A7

    @Test func clientFramesNeverTrapAndBadOnesGetAProtocolError() {
        var fuzzer = FrameFuzzer(seed: Self.seed)
        let parser = ClientFrameParser()
        let start = ContinuousClock.now
        var refused = 0
        for index in 0..<15_000 {
            let text = fuzzer.frame()
            let result = parser.parse(text)
            // A frame that is not a JSON object, or has no string op, must be refused.
            let object = try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) as? [String: Any]
            let op = object?["op"] as? String
            if object == nil || op == nil || !FrameFuzzer.ops.prefix(10).contains(op!) {
                guard case .failure = result else {
                    Issue.record("seed \(Self.seed) input \(index) accepted: \(text.prefix(200))")
                    continue
                }
            }
            if case .failure(let error) = result {
                refused += 1
                #expect(!error.message.isEmpty)
            }
        }
        for _ in 0..<3_000 {
            if case .failure(let error) = parser.parse(fuzzer.bytes()) { #expect(!error.message.isEmpty) }
        }
        #expect(refused > 10_000, "the generator should mostly produce bad frames")
        #expect(ContinuousClock.now - start < .seconds(60), "parsing must stay bounded")
    }

    @Test func deepNestingIsRefusedNotACrash() {
        let parser = ClientFrameParser()
        for depth in [1_000, 10_000, 60_000] {
            let nested = "{\"op\":\"send\",\"body\":" + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + "}"
            guard case .failure = parser.parse(nested) else {
                Issue.record("accepted a body nested \(depth) deep")
                continue
            }
        }
    }

    @Test func cursorsRoundTripOrAreNil() {
        var fuzzer = FrameFuzzer(seed: Self.seed ^ 1)
        var parsed = 0
        for _ in 0..<5_000 {
            let epoch = LogEpoch(value: UInt64.random(in: 0...UInt64.max, using: &fuzzer.random)).description
            let wellFormed = "\(epoch).\(fuzzer.int(-2..<9)).\(fuzzer.int(-3..<1_000_000))"
            let text: String
            switch fuzzer.int(0..<4) {
            case 0: text = fuzzer.string()
            case 1: text = "\(epoch).\(fuzzer.int(-5..<5)).\(FrameFuzzer.numbers[fuzzer.int(0..<14)])"
            case 2: text = fuzzer.mutate(wellFormed)
            default: text = wellFormed
            }
            guard let cursor = ChatCursor(text) else { continue }
            parsed += 1
            #expect(cursor.partition >= 0 && cursor.offset >= -1)
            #expect(ChatCursor(cursor.description) == cursor, "\(text) does not round-trip")
        }
        #expect(parsed > 0, "some generated cursors should be well formed")
    }

    @Test func tokenLikeStringsAreRefused() async throws {
        let secret = "fuzz-tests-secret-of-at-least-32-bytes!!"
        let authority = try await TokenAuthority(mode: .sharedSecret(secret))
        let other = try await TokenAuthority(mode: .sharedSecret("another-secret-of-at-least-32-bytes!!!!"))
        let valid = try await authority.issue(user: "alice", lifetime: 600)
        _ = try await authority.verify(valid)  // control: the authority does accept its own tokens
        var fuzzer = FrameFuzzer(seed: Self.seed ^ 2)
        func base64URL(_ data: Data) -> String {
            data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
        }
        var candidates = [
            try await other.issue(user: "alice", lifetime: 600),
            try await authority.issue(user: "alice", lifetime: -60),
            try await authority.issue(user: "", lifetime: 600),
            "", ".", "..", "a.b.c", valid + ".", String(valid.dropLast(3)),
        ]
        let parts = valid.split(separator: ".").map(String.init)
        for _ in 0..<1_500 {
            switch fuzzer.int(0..<4) {
            case 0:
                candidates.append((0..<3).map { _ in base64URL(Data(fuzzer.string().utf8)) }.joined(separator: "."))
            case 1:
                let header = base64URL(Data(#"{"alg":"\#(["HS256", "none", "RS256", "HS512", ""][fuzzer.int(0..<5)])","typ":"JWT"}"#.utf8))
                candidates.append([header, base64URL(Data(fuzzer.object(depth: 2).utf8)), parts[2]].joined(separator: "."))
            case 2:
                // Flip one character inside the signature (not the last: its low bits are padding).
                var signature = Array(parts[2])
                let position = fuzzer.int(0..<(signature.count - 1))
                signature[position] = signature[position] == "A" ? "B" : "A"
                candidates.append([parts[0], parts[1], String(signature)].joined(separator: "."))
            default:
                let mutated = fuzzer.mutate(valid)
                // Changes confined to the last character may only touch base64 padding bits.
                if mutated.dropLast() != valid.dropLast() { candidates.append(mutated) }
            }
        }
        let start = ContinuousClock.now
        for candidate in candidates where candidate != valid {
            do {
                let identity = try await authority.verify(candidate)
                Issue.record("accepted \(candidate.prefix(120)) as \(identity.userID)")
            } catch {
                #expect(!error.reason.isEmpty)
            }
        }
        #expect(ContinuousClock.now - start < .seconds(60))
    }
}

/// Every integer-valued field of every op at the edges of every integer type: parsed into an
/// in-range value or refused with a message, never a trap.
@Suite struct IntegerEdgeParserTests {
    static let edges: [String] = {
        var edges: [String] = []
        let ranges: [(String, String)] = [
            ("\(Int8.min)", "\(Int8.max)"), ("\(Int16.min)", "\(Int16.max)"), ("\(Int32.min)", "\(Int32.max)"), ("\(Int64.min)", "\(Int64.max)"),
            ("\(UInt64.min)", "\(UInt64.max)"),
        ]
        for (low, high) in ranges {
            for text in [low, high] {
                let value = Decimal(string: text)!
                edges += [value - 1, value, value + 1].map { "\($0)" }
            }
        }
        edges += ["-0", "1e308", "-1e308", "1e-308", "0.5", "1e400", "123456789012345678901234567890", "NaN", "Infinity", "0x10", "+1", "01", ""]
        return edges
    }()

    /// (op, request members with `$` where the edge goes, whether the edge is a raw JSON value).
    static let places: [(String, String, Bool)] = [
        ("id of ping", #"{"op":"ping","id":$}"#, true),
        ("id of join", #"{"op":"join","room":"r","id":$}"#, true),
        ("id of send", #"{"op":"send","room":"r","cmid":"c","body":"b","id":$}"#, true),
        ("limit of history", #"{"op":"history","room":"r","limit":$}"#, true),
        ("since offset", #"{"op":"join","room":"r","since":"00000000000000ff.1.$"}"#, false),
        ("since partition", #"{"op":"join","room":"r","since":"00000000000000ff.$.7"}"#, false),
        ("before offset", #"{"op":"history","room":"r","before":"00000000000000ff.1.$"}"#, false),
        ("before partition", #"{"op":"history","room":"r","before":"00000000000000ff.$.7"}"#, false),
        ("read offset", #"{"op":"read","room":"r","cursor":"00000000000000ff.1.$"}"#, false),
        ("read partition", #"{"op":"read","room":"r","cursor":"00000000000000ff.$.7"}"#, false),
        ("epoch", #"{"op":"read","room":"r","cursor":"$.1.7"}"#, false),
        ("edit msgId", #"{"op":"edit","room":"r","msgId":"$","body":"b"}"#, false),
        ("delete msgId", #"{"op":"delete","room":"r","msgId":"$"}"#, false),
        ("limit as a string", #"{"op":"history","room":"r","limit":"$"}"#, false),
    ]

    @Test func integerFieldsAtEdgesNeverTrap() {
        let parser = ClientFrameParser()
        var accepted = 0
        var refused = 0
        for (place, template, raw) in Self.places {
            for edge in Self.edges + Self.edges.map({ String(UInt64(bitPattern: Int64($0) ?? 0), radix: 16) }) {
                let value = raw ? (edge.isEmpty ? "\"\"" : edge) : edge
                let text = template.replacingOccurrences(of: "$", with: value)
                switch parser.parse(text) {
                case .failure(let error):
                    refused += 1
                    #expect(!error.message.isEmpty, "\(place) = \(edge)")
                case .success(let frame):
                    accepted += 1
                    switch frame.request {
                    case .history(_, let before, let limit):
                        #expect((1...200).contains(limit), "\(place) = \(edge): limit \(limit)")
                        if let before { #expect(before.partition >= 0 && before.offset >= -1, "\(place) = \(edge)") }
                    case .join(_, let since?):
                        #expect(since.partition >= 0 && since.offset >= -1, "\(place) = \(edge)")
                        #expect(ChatCursor(since.description) == since, "\(place) = \(edge) does not round-trip")
                    case .read(_, let cursor):
                        #expect(cursor.partition >= 0 && cursor.offset >= -1, "\(place) = \(edge)")
                        #expect(ChatCursor(cursor.description) == cursor, "\(place) = \(edge) does not round-trip")
                    default:
                        break
                    }
                }
            }
        }
        #expect(accepted > 50 && refused > 200, "both outcomes occur: \(accepted) accepted, \(refused) refused")
    }
}
