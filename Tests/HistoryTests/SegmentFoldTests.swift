import ChatCompactor
import ChatDomain
import ChatHistory
import Testing

@Suite("Segment fold")
struct SegmentFoldTests {
    @Test("Edits and deletes by the author apply; others are ignored; retries are dropped")
    func foldRules() {
        let room = RoomName("r")!
        var fold = SegmentFold(from: 0, span: 100, window: [])
        fold.apply(offset: 0, event: RoomEvent(room: room, from: "a", timestamp: 1, kind: .message(cmid: "c1", body: "one")))
        fold.apply(offset: 1, event: RoomEvent(room: room, from: "a", timestamp: 2, kind: .message(cmid: "c1", body: "one")))
        fold.apply(offset: 2, event: RoomEvent(room: room, from: "b", timestamp: 3, kind: .edit(msgId: "0", body: "hijack")))
        fold.apply(offset: 3, event: RoomEvent(room: room, from: "a", timestamp: 4, kind: .edit(msgId: "0", body: "uno")))
        let contents = fold.contents()
        #expect(contents.messages.map(\.body) == ["uno"])
        #expect(contents.amendments.map(\.offset) == [3])
    }

    @Test("An edit after a delete is ignored, in one segment and when the delete is pending in a later one")
    func editAfterDelete() {
        let room = RoomName("r")!
        var fold = SegmentFold(from: 0, span: 100, window: [])
        fold.apply(offset: 0, event: RoomEvent(room: room, from: "a", timestamp: 1, kind: .message(cmid: "c1", body: "one")))
        fold.apply(offset: 1, event: RoomEvent(room: room, from: "a", timestamp: 2, kind: .delete(msgId: "0")))
        fold.apply(offset: 2, event: RoomEvent(room: room, from: "a", timestamp: 3, kind: .edit(msgId: "0", body: "back")))
        #expect(fold.contents().messages.isEmpty)
        #expect(fold.contents().amendments.map(\.offset) == [1])

        // Across segments: the message in one, the delete and the late edit pending in the next.
        var first = SegmentFold(from: 0, span: 100, window: [])
        first.apply(offset: 0, event: RoomEvent(room: room, from: "a", timestamp: 1, kind: .message(cmid: "c1", body: "one")))
        var second = SegmentFold(from: 1, span: 100, window: first.contents().window)
        second.apply(offset: 1, event: RoomEvent(room: room, from: "a", timestamp: 2, kind: .delete(msgId: "0")))
        second.apply(offset: 2, event: RoomEvent(room: room, from: "a", timestamp: 3, kind: .edit(msgId: "0", body: "back")))
        let pending = second.contents().amendments
        #expect(pending.allSatisfy { $0.pending })
        let (message, applied) = pending.decided(of: first.contents().messages.first)
        #expect(message == nil, "deleted, and the later edit does not bring it back")
        #expect(applied.map(\.offset) == [1])
    }
}

@Suite("Compaction policy and manifests")
struct CompactionPolicyTests {
    func segment(_ from: Int64, _ to: Int64, level: Int) -> SegmentDescriptor {
        SegmentDescriptor(file: "s\(from)", from: from, to: to, level: level, sha256: "", bytes: 0, messages: 0, amendments: 0)
    }

    @Test("The last fan-in segments of one level merge; mixed levels or gaps do not")
    func mergePlan() {
        var policy = CompactionPolicy()
        policy.mergeFanIn = 3
        #expect(policy.nextMerge([segment(0, 10, level: 0), segment(10, 20, level: 0)]) == nil)
        #expect(
            policy.nextMerge([segment(0, 10, level: 1), segment(10, 20, level: 0), segment(20, 30, level: 0), segment(30, 40, level: 0)]) == 1..<4)
        #expect(policy.nextMerge([segment(0, 10, level: 1), segment(10, 20, level: 0), segment(20, 30, level: 0)]) == nil)
        #expect(policy.nextMerge([segment(0, 10, level: 0), segment(12, 20, level: 0), segment(20, 30, level: 0)]) == nil, "never across a gap")
    }

    @Test("Flushes after enough records or enough time, never when nothing is pending")
    func flushPolicy() {
        var policy = CompactionPolicy()
        policy.maxPendingRecords = 100
        policy.maxPendingAge = .seconds(5)
        #expect(!policy.shouldFlush(pendingRecords: 0, pendingFor: .seconds(60)))
        #expect(!policy.shouldFlush(pendingRecords: 99, pendingFor: .seconds(4)))
        #expect(policy.shouldFlush(pendingRecords: 100, pendingFor: .zero))
        #expect(policy.shouldFlush(pendingRecords: 1, pendingFor: .seconds(5)))
    }

    @Test("Coverage: contiguous ranges only")
    func coverage() {
        var manifest = PartitionManifest(topic: ChatTopics.rooms, epoch: LogEpoch(value: 1), partition: 0, duplicateSpan: 10)
        manifest.segments = [segment(5, 10, level: 0), segment(10, 20, level: 0), segment(25, 30, level: 0)]
        #expect(manifest.coversContiguously(from: 5, to: 20))
        #expect(manifest.coversContiguously(from: 7, to: 12))
        #expect(!manifest.coversContiguously(from: 4, to: 12))
        #expect(!manifest.coversContiguously(from: 15, to: 26), "the gap 20..<25 is not covered")
        #expect(manifest.coversContiguously(from: 26, to: 30))
    }
}
