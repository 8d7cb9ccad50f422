import ChatDomain
import Testing

/// The byte-level frame parser at the edges a hostile or unusual client reaches.
@Suite struct FrameParserEdgeTests {
    let parser = ClientFrameParser()

    func parse(_ bytes: [UInt8]) -> Result<ClientFrame, ProtocolError> {
        bytes.withUnsafeBytes { parser.parse(bytes: $0) }
    }

    func error(_ text: String) -> ProtocolError? {
        if case .failure(let error) = parser.parse(text) { return error }
        return nil
    }

    func body(_ literal: String) -> String? {
        guard case .send(_, _, let body) = try? parser.parse(#"{"op":"send","room":"r","cmid":"c","body":\#(literal)}"#).get().request else {
            return nil
        }
        return body
    }

    static let malformed = ProtocolError(.badRequest, "malformed JSON")

    @Test func escapesDecode() throws {
        #expect(body(#""a\nb\t\"\\\/\b\f\r""#).map { Array($0.utf8) } == Array("a\nb\t\"\\/\u{8}\u{C}\r".utf8))
        #expect(body(#""\u00e9\u00E9\u20ac\uD83D\uDE00\u0000""#) == "éé€\u{1F600}\u{0}")
        #expect(body(#""\uFFFF""#) == "\u{FFFF}")
        #expect(body(#""plain é 🙂""#) == "plain é 🙂")
    }

    @Test func loneSurrogatesAndBadEscapesAreMalformed() throws {
        for literal in [
            #""\uD800""#, #""\uDC00""#, #""\uD800\u0041""#, #""\uD800x""#, #""\uD83D\uD83D""#, #""\uZZZZ""#, #""\x""#, #""\u12""#, "\"a\u{1}\"",
        ] {
            #expect(error(#"{"op":"send","room":"r","cmid":"c","body":\#(literal)}"#) == Self.malformed, "\(literal)")
            #expect(error(#"{"op":"ping","extra":[\#(literal)]}"#) == Self.malformed, "\(literal) in an unknown field")
        }
    }

    @Test func invalidUTF8IsMalformedAnywhere() throws {
        let broken: [[UInt8]] = [[0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xFF], [0x80], [0xE2, 0x82]]
        for bytes in broken {
            for (prefix, suffix) in [
                (#"{"op":"send","room":"r","cmid":"c","body":""#, #""}"#), (#"{"op":"ping","x":""#, #""}"#), (#"{""#, #"":1,"op":"ping"}"#),
            ] {
                #expect(throws: ProtocolError.self) { try parse(Array(prefix.utf8) + bytes + Array(suffix.utf8)).get() }
            }
        }
        #expect(try parse(Array(#"{"op":"ping","x":"é€🙂"}"#.utf8)).get().request == .ping)
    }

    @Test func limitsAndIdsAtNumericEdges() throws {
        func limit(_ text: String) -> Result<Int, ProtocolError> {
            parser.parse(#"{"op":"history","room":"r","limit":\#(text)}"#).map {
                if case .history(_, _, let limit) = $0.request { limit } else { -1 }
            }
        }
        #expect(try limit("2.0").get() == 2)
        #expect(try limit("1e2").get() == 100)
        #expect(try limit("1E+2").get() == 100)
        #expect(try limit("200").get() == 200)
        for text in ["-0", "0", "201", "1e-400", "-1"] {
            #expect(limit(text) == .failure(ProtocolError(.badRequest, "limit must be 1 to 200")), "\(text)")
        }
        for text in ["2.5", "9223372036854775808", "1e300", "true", "\"5\"", "[5]"] {
            #expect(limit(text) == .failure(ProtocolError(.badRequest, "field limit must be an integer")), "\(text)")
        }
        for text in ["1e400", "-1e400", "1.7976931348623159e308", "01", "1.", ".5", "+1", "-", "1e", "0x10", "NaN", "Infinity"] {
            #expect(limit(text) == .failure(Self.malformed), "\(text)")
        }
        #expect(limit("1.7976931348623157e308") == .failure(ProtocolError(.badRequest, "field limit must be an integer")))
        func id(_ text: String) -> RequestID? { try? parser.parse(#"{"op":"ping","id":\#(text)}"#).get().id }
        #expect(id("-0") == .number("0"))
        #expect(id("1e2") == .number("100"))
        #expect(id("1.5") == .number("1.5"))
        #expect(id("9223372036854775807") == .number("9.223372036854776e+18"))
        #expect(id("9223372036854775808") == .number("9.223372036854776e+18"))
        #expect(id("-9223372036854775808") == .number("-9223372036854775808"))
        // Correctly rounded, where JSONSerialization went through Decimal.
        #expect(id("-25.038668464602217795150") == .number("-25.038668464602218"))
        #expect(id("null") == nil)
        #expect(error(#"{"op":"ping","id":1e400}"#) == Self.malformed)
        #expect(error(#"{"op":"ping","id":[1]}"#) == ProtocolError(.badRequest, "field id must be a string or a number"))
    }

    @Test func duplicateKeysLastWins() throws {
        #expect(error(#"{"op":"ping","op":"nope"}"#) == ProtocolError(.badRequest, "unknown op nope"))
        #expect(error(#"{"op":"join","room":"a","room":null}"#) == ProtocolError(.badRequest, "missing field room"))
        #expect(try parser.parse(#"{"op":"nope","op":"ping"}"#).get().request == .ping)
        // A number past Double only fails the frame if it survives the duplicates.
        #expect(try parser.parse(#"{"op":"ping","x":1e400,"x":1}"#).get().request == .ping)
        #expect(try parser.parse(#"{"op":"ping","x":{"a":1e400,"a":1}}"#).get().request == .ping)
        #expect(error(#"{"op":"ping","x":[1e400]}"#) == Self.malformed)
        #expect(error(#"{"op":"ping","x":{"a":1,"a":1e400}}"#) == Self.malformed)
        #expect(try parser.parse(#"{"\u006fp":"ping"}"#).get().request == .ping)
    }

    @Test func nestingIsBoundedWithAClearError() throws {
        func nested(_ levels: Int) -> String {
            #"{"op":"ping","x":"# + String(repeating: "[", count: levels) + String(repeating: "]", count: levels) + "}"
        }
        #expect(try parser.parse(nested(63)).get().request == .ping)
        let tooDeep = ProtocolError(.badRequest, "malformed JSON: nested deeper than 64 levels")
        #expect(error(nested(64)) == tooDeep)
        #expect(error(nested(1_000_000)) == tooDeep)
        #expect(error(String(repeating: "[", count: 65)) == tooDeep)
        #expect(error(String(repeating: "{\"a\":", count: 200_000)) == tooDeep)
    }

    @Test func framingWhitespaceAndGarbage() throws {
        #expect(try parser.parse(" \t\r\n{ \"op\" :\n\"ping\" ,\"x\":[1 , 2,],}\r\n ").get().request == .ping)
        #expect(try parse([0xEF, 0xBB, 0xBF] + Array(#"{"op":"ping"}"#.utf8)).get().request == .ping)
        for text in [
            "", " ", "{", "}", "{\"op\":\"ping\"}x", "{\"op\":\"ping\"}{}", "{\"op\":\"ping\"}\u{0B}", "{\"op\":\"ping\"}\u{A0}", "{,}",
            "{\"op\":\"ping\",,}", "[,]", "{\"op\" \"ping\"}", "{'op':'ping'}", "{op:\"ping\"}",
        ] {
            #expect(error(text) == Self.malformed, "\(text.debugDescription)")
        }
        for text in ["null", "[]", "42", "\"x\"", "true", "[1e2]"] {
            #expect(error(text) == ProtocolError(.badRequest, "a frame must be a JSON object"), "\(text)")
        }
        #expect(error("[1e400]") == Self.malformed)
        #expect(parse([]) == .failure(Self.malformed))
    }

    @Test func byteOrderMarksAtTheStartOfARunAreDropped() throws {
        // As JSONSerialization did: a BOM that begins the string, or follows an escape.
        #expect(body("\"\u{FEFF}hi\"") == "hi")
        #expect(body("\"a\\n\u{FEFF}b\"") == "a\nb")
        #expect(body("\"a\u{FEFF}b\"") == "a\u{FEFF}b")
        #expect(body(#""\uFEFFb""#) == "\u{FEFF}b")
        #expect(
            error("{\"op\":\"send\",\"room\":\"r\",\"cmid\":\"c\",\"body\":\"\u{FEFF}\"}") == ProtocolError(.badRequest, "body must not be empty"))
    }

    @Test func hugeFramesStayLinear() throws {
        let big = String(repeating: "é", count: 600_000)
        #expect(error(#"{"op":"send","room":"r","cmid":"c","body":"\#(big)"}"#)?.code == .tooLarge)
        #expect(try parser.parse(#"{"op":"ping","x":"\#(big)","y":[\#(String(repeating: "1,", count: 200_000))1]}"#).get().request == .ping)
    }
}
