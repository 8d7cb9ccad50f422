import ChatCompactor
import ChatDomain
import ChatFanout
import ChatHistory
import ChatServer
import ChatTestSupport
import Foundation
import Kafka
import Metrics
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import Testing

/// The embedded cluster keeps about 5 MiB per partition and then advances the log start, as
/// retention does: ~1 KiB bodies make that happen after a few thousand records.
@Suite("History after retention", .timeLimit(.minutes(2)))
struct RetentionTests {
    static let span: Int64 = 10_000

    @Test("History and resume stay complete after the log start advanced past compacted records")
    func historyAfterRetention() async throws {
        try await withChatCluster(partitions: 1) { fixture, root in
            let log = RandomChatLog(seed: 2024, count: 9000, bodyPadding: 1000)
            let configuration = fixture.compactorConfiguration(root: root, span: Self.span)
            for round in 0..<3 {
                let range = (round * 3000)..<((round + 1) * 3000)
                try await fixture.produce(range.map(log.value(at:)))
                _ = try await CompactionPass(configuration: configuration, admin: fixture.admin, logger: quietLogger("test.compactor")).run()
            }
            let watermarks = try await fixture.admin.watermarks(topic: ChatTopics.rooms, partition: 0)
            #expect(watermarks.high == 9000)
            try #require(watermarks.low > 1000, "the embedded cluster advanced its log start (low \(watermarks.low))")

            let history = try await fixture.history(root: root, span: Self.span)
            for room in log.rooms {
                let expected = log.oracle(room: room, span: Self.span)
                #expect(try await fixture.fullHistory(history, room: room, partition: 0) == expected, "room \(room)")
                // Paging backwards from the newest message reaches the oldest one.
                var pages: [ChatMessage] = []
                var before: Int64?
                while true {
                    let page = try await history.page(room: room, before: before, limit: 200)
                    pages = page.messages + pages
                    guard page.more, let first = page.messages.first else { break }
                    before = first.offset
                }
                #expect(pages == expected, "paged history of \(room)")
                // The log alone no longer holds the oldest messages: the test would fail without snapshots.
                let logOnly = try await history.log.page(room: room, before: nil, limit: 5000)
                #expect(logOnly.messages.count < expected.count)
            }
        }
    }

    @Test("A join with a since older than the log start is served from snapshots with recovered: true")
    func joinFromSnapshots() async throws {
        try await withChatCluster(partitions: 1) { fixture, root in
            let log = RandomChatLog(seed: 77, count: 7000, bodyPadding: 1000)
            let configuration = fixture.compactorConfiguration(root: root, span: Self.span)
            for round in 0..<2 {
                let range = (round * 3500)..<((round + 1) * 3500)
                try await fixture.produce(range.map(log.value(at:)))
                _ = try await CompactionPass(configuration: configuration, admin: fixture.admin, logger: quietLogger("test.compactor")).run()
            }
            let low = try await fixture.admin.watermarks(topic: ChatTopics.rooms, partition: 0).low
            try #require(low > 500, "the embedded cluster advanced its log start (low \(low))")
            let epoch = try await fixture.epoch()
            var fanoutConfiguration = FanoutConfiguration(
                kafka: fixture.kafka, groupID: "chat-fanout-test", partitioner: RoomPartitioner(partitionCount: 1), epoch: epoch)
            fanoutConfiguration.duplicateSpan = Self.span
            fanoutConfiguration.snapshots = SnapshotCatchUpSource(store: SnapshotStore(directory: SnapshotDirectory(root: root, epoch: epoch)))
            let fanout = try Fanout(
                configuration: fanoutConfiguration, admin: fixture.admin, metricsFactory: NOOPMetricsHandler.instance,
                logger: quietLogger("test.fanout"))
            let group = ServiceGroup(configuration: .init(services: [.init(service: fanout)], logger: quietLogger("test.group")))
            let running = Task { try await group.run() }
            defer { running.cancel() }

            let room = log.rooms[0]
            let since: Int64 = 100
            let subscriber = FrameCollector()
            let outcome = try await fanout.join(room: room, subscriber: subscriber, since: ChatCursor(epoch: epoch, partition: 0, offset: since)) {
                _ in "{}"
            }
            #expect(outcome.recovered, "every event after the cursor is still in snapshots or the log")
            var client = ClientView(log.oracle(room: room, span: Self.span, upTo: Int(since + 1)))
            let expected = ClientView(log.oracle(room: room, span: Self.span))
            let deadline = ContinuousClock.now + .seconds(20)
            var applied = 0
            var lastOffset = since
            while client != expected, ContinuousClock.now < deadline {
                let frames = subscriber.frames
                for frame in frames[applied...] {
                    guard let event = FrameCollector.event(frame, room: room) else { continue }
                    #expect(event.offset > lastOffset, "cursors strictly increase")
                    lastOffset = event.offset
                    client.apply(event)
                }
                applied = frames.count
                try await Task.sleep(for: .milliseconds(50))
            }
            if client != expected, let debug = ProcessInfo.processInfo.environment["HISTORY_DEBUG_FRAMES"] {
                try subscriber.frames.joined(separator: "\n").write(toFile: debug, atomically: true, encoding: .utf8)
                let lines = log.events.enumerated().compactMap { index, event in event.map { "\(index) \($0.room) \($0.from) \($0.kind)".prefix(60) }
                }
                try lines.joined(separator: "\n").write(toFile: debug + ".log", atomically: true, encoding: .utf8)
                try "low \(low)".write(toFile: debug + ".low", atomically: true, encoding: .utf8)
            }
            #expect(client == expected, "\(client.difference(from: expected)) after \(subscriber.frames.count) frames")
            await group.triggerGracefulShutdown()
            _ = await running.result
        }
    }
}

/// A subscriber that keeps every frame.
final class FrameCollector: RoomSubscriber {
    let userID = "history-tester"
    let eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.next()
    private let received = Mutex<[String]>([])

    func write(_ frame: WireFrame) {
        received.withLock { $0.append(String(buffer: frame.payload)) }
    }

    func flush() {}

    func cannotKeepUp() {}

    func removed(from room: RoomName) {}

    var frames: [String] { received.withLock { $0 } }

    /// The event a `message` / `edited` / `deleted` frame carries.
    static func event(_ frame: String, room: RoomName) -> LoggedRoomEvent? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(frame.utf8)) as? [String: Any],
            let op = object["op"] as? String, let cursor = (object["cursor"] as? String).flatMap(ChatCursor.init),
            let from = object["from"] as? String
        else { return nil }
        let timestamp = (object["ts"] as? NSNumber)?.int64Value ?? 0
        let kind: RoomEvent.Kind
        switch op {
        case "message": kind = .message(cmid: object["cmid"] as? String ?? "", body: object["body"] as? String ?? "")
        case "edited": kind = .edit(msgId: object["msgId"] as? String ?? "", body: object["body"] as? String ?? "")
        case "deleted": kind = .delete(msgId: object["msgId"] as? String ?? "")
        default: return nil
        }
        return LoggedRoomEvent(
            event: RoomEvent(room: room, from: from, timestamp: timestamp, kind: kind), partition: cursor.partition, offset: cursor.offset)
    }
}
