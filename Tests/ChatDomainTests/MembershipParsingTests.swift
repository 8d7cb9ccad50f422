import ChatDomain
import Testing

@Suite("Parsing of the rooms and members ops")
struct MembershipParsingTests {
    let parser = ClientFrameParser()
    let room = RoomName("r")!

    @Test("Every membership op parses into its request")
    func everyOp() throws {
        let frames: [(String, ClientRequest)] = [
            (#"{"op":"create","room":"r","kind":"public"}"#, .create(room: room, kind: .public, title: nil)),
            (#"{"op":"create","room":"r","kind":"private","title":"Ünïcode"}"#, .create(room: room, kind: .private, title: "Ünïcode")),
            (#"{"op":"invite","room":"r","user":"bob"}"#, .membership(room: room, action: .add(user: "bob", role: .member))),
            (#"{"op":"kick","room":"r","user":"bob"}"#, .membership(room: room, action: .remove(user: "bob"))),
            (#"{"op":"ban","room":"r","user":"bob"}"#, .membership(room: room, action: .ban(user: "bob", until: nil))),
            (#"{"op":"ban","room":"r","user":"bob","until":1e12}"#, .membership(room: room, action: .ban(user: "bob", until: 1_000_000_000_000))),
            (#"{"op":"ban","room":"r","user":"bob","until":null}"#, .membership(room: room, action: .ban(user: "bob", until: nil))),
            (#"{"op":"unban","room":"r","user":"bob"}"#, .membership(room: room, action: .unban(user: "bob"))),
            (#"{"op":"mute","room":"r","user":"bob","until":0}"#, .membership(room: room, action: .mute(user: "bob", until: 0))),
            (
                #"{"op":"mute","room":"r","user":"bob","until":253402300799999}"#,
                .membership(room: room, action: .mute(user: "bob", until: ClientFrameParser.maxUntil))
            ),
            (#"{"op":"role","room":"r","user":"bob","role":"moderator"}"#, .membership(room: room, action: .setRole(user: "bob", role: .moderator))),
            (#"{"op":"role","room":"r","user":"bob","role":"owner"}"#, .membership(room: room, action: .setRole(user: "bob", role: .owner))),
            (#"{"op":"members","room":"r"}"#, .members(room: room)),
            (#"{"op":"dm","user":"bob"}"#, .dm(user: "bob")),
            (#"{"op":"dm","user":"\#(String(repeating: "é", count: 128))"}"#, .dm(user: String(repeating: "é", count: 128))),
        ]
        for (text, expected) in frames {
            #expect(try parser.parse(text).get().request == expected, "\(text)")
        }
    }

    @Test("Bad fields are bad_request with a message, and the id is echoed")
    func badFields() {
        let long = String(repeating: "u", count: UserID.maxLength + 1)
        let frames = [
            #"{"op":"create","room":"r"}"#, #"{"op":"create","room":"r","kind":"dm"}"#, #"{"op":"create","room":"r","kind":"PUBLIC"}"#,
            #"{"op":"create","room":"r","kind":["public"]}"#, #"{"op":"create","room":"r","kind":"public","title":7}"#,
            #"{"op":"create","room":"r","kind":"public","title":"\#(String(repeating: "é", count: 101))"}"#, #"{"op":"create","kind":"public"}"#,
            #"{"op":"invite","room":"r"}"#, #"{"op":"invite","room":"r","user":""}"#, #"{"op":"invite","room":"r","user":"\#(long)"}"#,
            #"{"op":"invite","room":"r","user":{}}"#, #"{"op":"kick","room":"r","user":false}"#, #"{"op":"unban","room":"r"}"#,
            #"{"op":"ban","room":"r","user":"b","until":-1}"#, #"{"op":"ban","room":"r","user":"b","until":0.5}"#,
            #"{"op":"ban","room":"r","user":"b","until":9223372036854775807}"#, #"{"op":"ban","room":"r","user":"b","until":-9223372036854775808}"#,
            #"{"op":"ban","room":"r","user":"b","until":253402300800000}"#, #"{"op":"ban","room":"r","user":"b","until":1e400}"#,
            #"{"op":"ban","room":"r","user":"b","until":"1"}"#, #"{"op":"mute","room":"r","user":"b"}"#,
            #"{"op":"mute","room":"r","user":"b","until":null}"#, #"{"op":"role","room":"r","user":"b"}"#,
            #"{"op":"role","room":"r","user":"b","role":"Owner"}"#, #"{"op":"members"}"#, #"{"op":"dm"}"#, #"{"op":"dm","user":""}"#,
            #"{"op":"dm","user":"\#(long)"}"#,
        ]
        for text in frames {
            let withID = String(text.dropLast()) + #","id":"x"}"#
            switch parser.parse(withID) {
            case .success(let frame): Issue.record("accepted \(text): \(frame.request)")
            case .failure(let error):
                #expect(error.code == .badRequest, "\(text)")
                #expect(!error.message.isEmpty)
                // A non-finite number makes the whole frame malformed JSON: no id is read from it.
                if !text.contains("1e400") { #expect(error.id == .string("x"), "\(text)") }
            }
        }
    }

    @Test("The rooms of the new requests, and replies' shapes")
    func roomsAndReplies() {
        #expect(ClientRequest.members(room: room).room == room)
        #expect(ClientRequest.membership(room: room, action: .unban(user: "b")).room == room)
        #expect(ClientRequest.dm(user: "b").room == nil)
        let state = RoomState(kind: .private, title: "T", members: ["b": .member, "a": .owner, "c": .moderator])
        #expect(
            ServerFrame.members(id: .string("1"), room: room, state: state)
                == #"{"op":"members","id":"1","room":"r","kind":"private","title":"T","members":[{"user":"a","role":"owner"},{"user":"c","role":"moderator"},{"user":"b","role":"member"}]}"#
        )
        #expect(ServerFrame.members(id: nil, room: room, state: nil) == #"{"op":"members","room":"r","kind":"public","members":[]}"#)
    }
}
