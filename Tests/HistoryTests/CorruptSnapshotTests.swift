import ChatCompactor
import ChatDomain
import ChatHistory
import ChatTestSupport
import Foundation
import Kafka
import Testing

@Suite("Corrupt snapshots")
struct CorruptSnapshotTests {
    static let span: Int64 = 20

    /// Two segments and a manifest for partition 0 of `testEpoch`, from a random log.
    private func writeSnapshots(root: String) throws -> (SnapshotDirectory, RandomChatLog) {
        let log = RandomChatLog(seed: 5, count: 120)
        let directory = SnapshotDirectory(root: root, epoch: testEpoch)
        try FileManager.default.createDirectory(atPath: directory.partitionDirectory(0), withIntermediateDirectories: true)
        var manifest = PartitionManifest(topic: ChatTopics.rooms, epoch: testEpoch, partition: 0, duplicateSpan: Self.span)
        var window: [WindowEntry] = []
        for (index, range) in [0..<60, 60..<100].enumerated() {
            let contents = log.fold(range, span: Self.span, window: window)
            window = contents.window
            let file = SnapshotDirectory.segmentFileName(from: contents.from, to: contents.to, generation: Int64(index))
            let header = SegmentFile.Header(
                topic: ChatTopics.rooms, epoch: testEpoch, partition: 0, from: contents.from, to: contents.to, duplicateSpan: Self.span, level: 0)
            let summary = try SegmentFile.write(contents, header: header, to: directory.segmentPath(0, file: file))
            manifest.segments.append(
                SegmentDescriptor(
                    file: file, from: contents.from, to: contents.to, level: 0, sha256: summary.sha256, bytes: summary.bytes,
                    messages: summary.messages, amendments: summary.amendments))
        }
        manifest.generation = 2
        try manifest.write(to: directory)
        return (directory, log)
    }

    @Test("A truncated, altered or missing segment is detected by its checksum", arguments: ["truncate", "flip", "delete", "swap"])
    func detected(damage: String) async throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let (directory, _) = try writeSnapshots(root: temporary.path)
        let manifest = try #require(try directory.manifest(0))
        let second = directory.segmentPath(0, file: manifest.segments[1].file)
        var bytes = try #require(FileManager.default.contents(atPath: second))
        switch damage {
        case "truncate": bytes = bytes.prefix(bytes.count - 100)
        case "flip": bytes[bytes.count / 2] ^= 0x01
        case "swap": bytes = try #require(FileManager.default.contents(atPath: directory.segmentPath(0, file: manifest.segments[0].file)))
        default: try FileManager.default.removeItem(atPath: second)
        }
        if damage != "delete" { try bytes.write(to: URL(fileURLWithPath: second)) }
        #expect(throws: SnapshotError.self) {
            _ = try SegmentReader.open(path: second, descriptor: manifest.segments[1], partition: 0, epoch: testEpoch)
        }
        let layers = try #require(try await SnapshotStore(directory: directory).layers(partition: 0))
        #expect(layers.valid.count == 1, "the valid prefix stops before the damaged segment")
        #expect(layers.firstInvalid == manifest.segments[1])
        guard case .corruptSegment(let path, _) = layers.failure else {
            Issue.record("expected a corrupt segment, got \(String(describing: layers.failure))")
            return
        }
        #expect(path == second)
    }

    @Test("History falls back to the log while it holds the damaged range, and fails loudly once it does not")
    func fallbackOrFail() async throws {
        try await withChatCluster(partitions: 1) { fixture, root in
            let log = RandomChatLog(seed: 5, count: 120)
            try await fixture.produce((0..<log.events.count).map(log.value(at:)))
            var configuration = fixture.compactorConfiguration(root: root, span: Self.span)
            configuration.policy.maxPendingRecords = 50
            configuration.policy.mergeFanIn = 10
            _ = try await CompactionPass(configuration: configuration, admin: fixture.admin, logger: quietLogger("test.compactor")).run()
            let history = try await fixture.history(root: root, span: Self.span)
            let manifest = try #require(try history.store.directory.manifest(0))
            #expect(manifest.segments.count == 3)
            let damaged = manifest.segments[1]
            try Data("not sqlite".utf8).write(to: URL(fileURLWithPath: history.store.directory.segmentPath(0, file: damaged.file)))

            let room = log.rooms[1]
            let expected = log.oracle(room: room, span: Self.span)
            #expect(try await fixture.fullHistory(history, room: room, partition: 0) == expected, "the log still holds the range")

            // As if retention had deleted the damaged range: no silent answer.
            let trimmed = KafkaWatermarks(low: damaged.from + 1, high: Int64(log.events.count))
            await #expect(throws: SnapshotError.self) {
                _ = try await history.view(room: room, partition: 0, watermarks: trimmed)
            }
            await #expect(throws: SnapshotError.self) {
                _ = try await history.store.catchUp(room: room, partition: 0, after: 10, low: trimmed.low)
            }
        }
    }
}

@Suite("Snapshot lookups")
struct SnapshotLookupTests {
    @Test("The author of a message only snapshots hold; nothing for retries, deleted messages or other rooms")
    func authorLookup() async throws {
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        let room = RoomName("lobby")!
        let other = RoomName("other")!
        let log = RandomChatLog(
            events: [
                RoomEvent(room: room, from: "ann", timestamp: 1, kind: .message(cmid: "a", body: "one")),
                RoomEvent(room: room, from: "ann", timestamp: 2, kind: .message(cmid: "a", body: "one")),
                RoomEvent(room: other, from: "bob", timestamp: 3, kind: .message(cmid: "b", body: "two")),
                RoomEvent(room: room, from: "cid", timestamp: 4, kind: .message(cmid: "c", body: "three")),
                RoomEvent(room: room, from: "cid", timestamp: 5, kind: .delete(msgId: "3")),
            ], rooms: [room, other])
        let directory = SnapshotDirectory(root: temporary.path, epoch: testEpoch)
        try FileManager.default.createDirectory(atPath: directory.partitionDirectory(0), withIntermediateDirectories: true)
        let contents = log.fold(0..<5, span: 100, window: [])
        let file = SnapshotDirectory.segmentFileName(from: 0, to: 5, generation: 1)
        let summary = try SegmentFile.write(
            contents, header: .init(topic: ChatTopics.rooms, epoch: testEpoch, partition: 0, from: 0, to: 5, duplicateSpan: 100, level: 0),
            to: directory.segmentPath(0, file: file))
        var manifest = PartitionManifest(topic: ChatTopics.rooms, epoch: testEpoch, partition: 0, duplicateSpan: 100)
        manifest.segments = [
            SegmentDescriptor(
                file: file, from: 0, to: 5, level: 0, sha256: summary.sha256, bytes: summary.bytes, messages: summary.messages,
                amendments: summary.amendments)
        ]
        try manifest.write(to: directory)
        let store = SnapshotStore(directory: directory)
        #expect(try await store.author(ofMessageAt: 0, room: room, partition: 0) == "ann")
        #expect(try await store.author(ofMessageAt: 1, room: room, partition: 0) == nil, "a retry is no message")
        #expect(try await store.author(ofMessageAt: 2, room: room, partition: 0) == nil, "another room's message")
        #expect(try await store.author(ofMessageAt: 3, room: room, partition: 0) == nil, "deleted")
        #expect(try await store.author(ofMessageAt: 9, room: room, partition: 0) == nil, "not covered")
    }
}
