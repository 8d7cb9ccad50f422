import ChatDomain
import Foundation
import Testing

@Suite("Log rules: placement, duplicates, timeline")
struct LogRulesTests {
    @Test("Room placement is stable and spreads rooms over partitions")
    func placement() {
        let partitioner = RoomPartitioner(partitionCount: 8)
        var counts = [Int](repeating: 0, count: 8)
        for index in 0..<8000 {
            let room = RoomName("room-\(index)")!
            let partition = partitioner.partition(for: room)
            #expect(partition == partitioner.partition(for: room))
            counts[Int(partition)] += 1
        }
        #expect(counts.allSatisfy { $0 > 800 && $0 < 1200 }, "\(counts)")
        // Jump hashing moves only about 1/9 of the rooms when a partition is added.
        let grown = RoomPartitioner(partitionCount: 9)
        let moved = (0..<8000).filter { partitioner.partition(for: RoomName("room-\($0)")!) != grown.partition(for: RoomName("room-\($0)")!) }.count
        #expect(moved < 1200)
        #expect(RoomPartitioner(partitionCount: 8).partition(for: RoomName("lobby")!) == partitioner.partition(for: RoomName("lobby")!))
    }

    @Test("A retry within the window is a duplicate of the first post; outside it, a new post")
    func duplicateWindow() {
        var window = DuplicateWindow(span: 10)
        let key = DuplicateWindow.Key(room: "r", user: "u", cmid: "c")
        #expect(window.admit(key, offset: 5, timestamp: 100) == nil)
        #expect(window.admit(key, offset: 9, timestamp: 200) == .init(offset: 5, timestamp: 100))
        #expect(window.original(of: key, appendedAt: 15) == .init(offset: 5, timestamp: 100))
        #expect(window.original(of: key, appendedAt: 16) == nil)
        #expect(window.admit(DuplicateWindow.Key(room: "r", user: "other", cmid: "c"), offset: 10, timestamp: 1) == nil, "per user")
        #expect(window.admit(key, offset: 16, timestamp: 300) == nil, "outside the window: a new message")
        #expect(window.admit(key, offset: 20, timestamp: 400) == .init(offset: 16, timestamp: 300))
    }

    @Test("The timeline applies edits and deletes by the author only and drops duplicates")
    func timeline() {
        let room = RoomName("r")!
        var timeline = RoomTimeline(room: room)
        func event(_ offset: Int64, _ from: String, _ kind: RoomEvent.Kind) -> LoggedRoomEvent {
            LoggedRoomEvent(event: RoomEvent(room: room, from: from, timestamp: offset, kind: kind), partition: 0, offset: offset)
        }
        timeline.apply(event(0, "a", .message(cmid: "1", body: "one")), duplicateOf: nil)
        timeline.apply(event(1, "b", .message(cmid: "1", body: "two")), duplicateOf: nil)
        let retry = timeline.apply(event(2, "a", .message(cmid: "1", body: "one")), duplicateOf: .init(offset: 0, timestamp: 0))
        #expect(retry.verdict == .duplicate(of: .init(offset: 0, timestamp: 0)) && retry.change == nil)
        #expect(timeline.apply(event(3, "b", .edit(msgId: "0", body: "hacked")), duplicateOf: nil).verdict == .refused(.notAuthor))
        if case .edited = timeline.apply(event(4, "a", .edit(msgId: "0", body: "uno")), duplicateOf: nil).change {
        } else {
            Issue.record("edit not applied")
        }
        #expect(timeline.apply(event(5, "a", .delete(msgId: "1")), duplicateOf: nil).verdict == .refused(.notAuthor))
        if case .deleted = timeline.apply(event(6, "b", .delete(msgId: "1")), duplicateOf: nil).change {} else { Issue.record("delete not applied") }
        #expect(timeline.visibleMessages.map(\.body) == ["uno"])
        #expect(timeline.visibleMessages.first?.edited == true)
        // Another node's edit or delete that reached the log after the delete: ignored.
        #expect(timeline.apply(event(7, "b", .edit(msgId: "1", body: "back")), duplicateOf: nil).verdict == .refused(.deletedTarget))
        #expect(timeline.apply(event(8, "b", .delete(msgId: "1")), duplicateOf: nil).verdict == .refused(.deletedTarget))
        #expect(timeline.visibleMessages.map(\.body) == ["uno"])
        #expect(timeline.message(id: "1") == nil && timeline.message(id: "0")?.body == "uno")
    }

    @Test("Room events and signals round-trip through their stored form")
    func codecs() {
        let room = RoomName("r")!
        for kind: RoomEvent.Kind in [.message(cmid: "c", body: "\"quoted\"\n"), .edit(msgId: "1", body: "b"), .delete(msgId: "2")] {
            let event = RoomEvent(room: room, from: "u", timestamp: 42, kind: kind)
            #expect(RoomEvent(decoding: event.encoded()) == event)
        }
        #expect(RoomEvent(decoding: Array("{}".utf8)) == nil)
        #expect(
            RoomEvent(decoding: Array(#"{"v":99,"type":"message","room":"r","from":"u","ts":1,"cmid":"c","body":"b"}"#.utf8)) == nil,
            "a newer format is skipped")
        let signal = RoomSignal(room: room, user: "u", timestamp: 1, kind: .read(cursor: ChatCursor("00000000000000ff.1.2")!))
        #expect(RoomSignal(decoding: signal.encoded()) == signal)
    }

    @Test("JSON writer escapes what JSON requires")
    func jsonEscaping() throws {
        var writer = JSONWriter()
        writer.add("s", "a\"b\\c\n\t\u{1}é")
        let text = writer.finish()
        let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String]
        #expect(parsed?["s"] == "a\"b\\c\n\t\u{1}é")
    }

    @Test("Token bucket: bursts up to the limit, then the rate")
    func tokenBucket() {
        var bucket = TokenBucket(rate: 10, burst: 5, now: 0)
        var taken: [Bool] = []
        for now in [0, 0, 0, 0, 0, 0, 0.1, 0.1] { taken.append(bucket.take(now: now)) }
        #expect(taken == [true, true, true, true, true, false, true, false])
    }
}
