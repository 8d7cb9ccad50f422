import ChatDomain
import CoreMetrics
import Kafka
import ServiceLifecycle
import Testing

@testable import ChatFanout

/// A catch-up read that retention overtakes must not skip events silently.
@Suite("Catch-up against retention", .timeLimit(.minutes(2)))
struct CatchUpRetentionTests {
    @Test("Reading a room from an offset retention already deleted fails instead of starting later")
    func catchUpPastTheLogStart() async throws {
        let cluster = try EmbeddedKafkaCluster(brokers: 1)
        try cluster.createTopic(ChatTopics.rooms, partitions: 1, replicationFactor: 1)
        let kafka = KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, properties: ["fetch.wait.max.ms": "2"])
        let producer = try KafkaProducer(configuration: kafka, logger: testLogger("test.producer"))
        let admin = try KafkaAdmin(configuration: kafka, logger: testLogger("test.admin"))
        let room = RoomName("lobby")!
        let padding = String(repeating: "x", count: 1000)
        // The embedded broker keeps about 5 MiB of a partition and then advances its log start.
        var low: Int64 = 0
        var written = 0
        while low == 0, written < 40_000 {
            let records = (0..<2000).map { index in
                KafkaProducerRecord(
                    topic: ChatTopics.rooms, partition: 0, key: Array(room.value.utf8),
                    value: RoomEvent(room: room, from: "ann", timestamp: 1, kind: .message(cmid: "c\(written + index)", body: padding)).encoded())
            }
            _ = try await producer.send(records).get()
            written += records.count
            low = try await admin.watermarks(topic: ChatTopics.rooms, partition: 0).low
        }
        try #require(low > 100, "the embedded cluster advanced its log start (low \(low))")

        var configuration = FanoutConfiguration(
            kafka: kafka, groupID: "catch-up-test", partitioner: RoomPartitioner(partitionCount: 1),
            epoch: LogEpoch(clusterID: try await admin.clusterID(), topic: ChatTopics.rooms))
        configuration.duplicateSpan = 10
        configuration.assignAllPartitions = false
        let fanout = try Fanout(
            configuration: configuration, admin: admin, metricsFactory: NOOPMetricsHandler.instance, logger: testLogger("test.fanout"))
        // A catch-up read is seeded with the room states the running fan-out folded for its partition.
        let group = ServiceGroup(configuration: .init(services: [.init(service: fanout)], logger: testLogger("test.group")))
        let running = Task { try await group.run() }

        // What a join that checked the log start just before retention moved it would ask for.
        await #expect(throws: FanoutError.historyTruncated(from: low - 50, logStart: low)) {
            _ = try await fanout.readRoomEvents(room: room, partition: 0, from: low - 50, to: low + 20)
        }
        // From the log start on, the events come back complete and in order.
        let events = try await fanout.readRoomEvents(room: room, partition: 0, from: low, to: low + 20)
        #expect(events.map(\.logged.offset) == Array(low..<(low + 20)))

        await group.triggerGracefulShutdown()
        _ = await running.result
        await producer.close()
        await admin.close()
        await cluster.shutdown()
    }
}
