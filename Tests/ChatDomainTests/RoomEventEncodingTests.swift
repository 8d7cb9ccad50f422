import ChatDomain
import Foundation
import Testing

/// Room events are written with `JSONWriter`, read with `JSONDecoder`: what one writes the other
/// must read back exactly, whatever the strings hold.
@Suite("Room events round-trip through their stored bytes")
struct RoomEventEncodingTests {
    static let awkward = [
        "plain", "", "quote \" backslash \\ slash / done", "line\nbreak\ttab\r\u{8}\u{c}", "\u{0}\u{1}\u{1f} controls",
        "emoji 👋🏽 and é and 中文", "\u{2028}\u{2029} separators", #"{"op":"send"}"#,
    ]

    @Test("Messages, edits and deletes with awkward strings decode to the event that was encoded", arguments: awkward)
    func roundTrip(_ text: String) throws {
        let room = try #require(RoomName("room-1"))
        for kind in [RoomEvent.Kind.message(cmid: "c-\(text.count)", body: text), .edit(msgId: "42", body: text), .delete(msgId: "7")] {
            let event = RoomEvent(room: room, from: "user \(text)", timestamp: 1_700_000_000_123, kind: kind)
            #expect(RoomEvent(decoding: event.encoded()) == event)
        }
    }

    @Test("The stored object has the format's keys and nothing else, and no slash is escaped")
    func storedKeys() throws {
        let room = try #require(RoomName("a.b"))
        let bytes = RoomEvent(room: room, from: "ann/home", timestamp: 5, kind: .message(cmid: "c", body: "x/y")).encoded()
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(Set(object.keys) == ["body", "cmid", "from", "room", "ts", "type", "v"])
        #expect(object["v"] as? Int == RoomEvent.formatVersion)
        #expect(object["type"] as? String == "message")
        #expect(!String(decoding: bytes, as: UTF8.self).contains("\\/"))
    }
}
