import ChatDomain
import Foundation
import Testing

@Suite("Client frame parsing")
struct ProtocolParsingTests {
    let parser = ClientFrameParser()

    @Test("Every op of protocol v1 parses")
    func everyOp() throws {
        let cursor = "00000000000000ff.3.42"
        let frames: [(String, ClientRequest)] = [
            (#"{"op":"join","room":"a","since":"\#(cursor)"}"#, .join(room: RoomName("a")!, since: ChatCursor(cursor))),
            (#"{"op":"join","room":"a"}"#, .join(room: RoomName("a")!, since: nil)),
            (#"{"op":"leave","room":"a"}"#, .leave(room: RoomName("a")!)),
            (#"{"op":"send","room":"a","cmid":"c","body":"hi"}"#, .send(room: RoomName("a")!, cmid: "c", body: "hi")),
            (#"{"op":"edit","room":"a","msgId":"7","body":"x"}"#, .edit(room: RoomName("a")!, msgId: "7", body: "x")),
            (#"{"op":"delete","room":"a","msgId":"7"}"#, .delete(room: RoomName("a")!, msgId: "7")),
            (#"{"op":"history","room":"a"}"#, .history(room: RoomName("a")!, before: nil, limit: 50)),
            (
                #"{"op":"history","room":"a","before":"\#(cursor)","limit":200}"#,
                .history(room: RoomName("a")!, before: ChatCursor(cursor), limit: 200)
            ),
            (#"{"op":"typing","room":"a"}"#, .typing(room: RoomName("a")!)),
            (#"{"op":"read","room":"a","cursor":"\#(cursor)"}"#, .read(room: RoomName("a")!, cursor: ChatCursor(cursor)!)),
            (#"{"op":"presence","room":"a"}"#, .presence(room: RoomName("a")!)),
            (#"{"op":"ping"}"#, .ping),
            (#"{"op":"auth","token":"a.b.c"}"#, .auth(token: "a.b.c")),
        ]
        for (text, expected) in frames {
            #expect(try parser.parse(text).get().request == expected, "\(text)")
        }
    }

    @Test("Ids are echoed as they came: strings and numbers")
    func ids() throws {
        #expect(try parser.parse(#"{"op":"ping","id":"abc"}"#).get().id == .string("abc"))
        #expect(try parser.parse(#"{"op":"ping","id":12}"#).get().id == .number("12"))
        #expect(try parser.parse(#"{"op":"ping","id":1.5}"#).get().id == .number("1.5"))
        #expect(throws: ProtocolError.self) { try parser.parse(#"{"op":"ping","id":true}"#).get() }
        let error = parser.parse(#"{"op":"nope","id":"x"}"#)
        if case .failure(let failure) = error { #expect(failure.id == .string("x")) } else { Issue.record("expected an error") }
    }

    @Test("Invalid input is a bad request with a message; a long body is too large")
    func invalid() {
        let bad = [
            "", "null", "[]", "42", #"{"#, #"{"op":1}"#, #"{"room":"a"}"#, #"{"op":"join","room":"a b"}"#,
            #"{"op":"join","room":"a","since":5}"#, #"{"op":"send","room":"a","cmid":"c","body":""}"#,
            #"{"op":"send","room":"a","body":"x"}"#, #"{"op":"history","room":"a","limit":0}"#,
            #"{"op":"history","room":"a","limit":true}"#, #"{"op":"history","room":"a","limit":2.5}"#,
            #"{"op":"send","room":"a","cmid":"\#(String(repeating: "c", count: 65))","body":"x"}"#,
            #"{"op":"read","room":"a"}"#, #"{"op":"edit","room":"a","msgId":"","body":"x"}"#,
        ]
        for text in bad {
            guard case .failure(let error) = parser.parse(text) else {
                Issue.record("accepted \(text)")
                continue
            }
            #expect(error.code == .badRequest, "\(text)")
            #expect(!error.message.isEmpty)
        }
        let long = #"{"op":"send","room":"a","cmid":"c","body":"\#(String(repeating: "é", count: 2049))"}"#
        guard case .failure(let error) = parser.parse(long) else {
            Issue.record("accepted a 4098-byte body")
            return
        }
        #expect(error.code == .tooLarge)
    }

    @Test("Room names: 1 to 128 of [A-Za-z0-9._-]")
    func roomNames() {
        #expect(RoomName("a.b_c-D9") != nil)
        #expect(RoomName(String(repeating: "r", count: 128)) != nil)
        for bad in ["", String(repeating: "r", count: 129), "a b", "é", "a/b", "a\u{0}"] { #expect(RoomName(bad) == nil) }
        #expect(RoomPattern("team-*").matches(RoomName("team-red")!))
        #expect(!RoomPattern("team-*").matches(RoomName("teams")!))
        #expect(RoomPattern("*").matches(RoomName("x")!))
    }

    @Test("Cursors round-trip and reject anything malformed")
    func cursors() {
        let cursor = ChatCursor(epoch: LogEpoch(clusterID: "c", topic: "chat.rooms"), partition: 3, offset: 99)
        #expect(ChatCursor(cursor.description) == cursor)
        for bad in [
            "", "x", "1.2.3", "00000000000000ff.-1.3", "00000000000000ff.1", "00000000000000ff.1.2.3", "zzzzzzzzzzzzzzzz.1.2",
            "00000000000000ff.1.-2",
        ] {
            #expect(ChatCursor(bad) == nil, "\(bad)")
        }
        #expect(LogEpoch(clusterID: "a", topic: "t") != LogEpoch(clusterID: "b", topic: "t"))
    }
}
