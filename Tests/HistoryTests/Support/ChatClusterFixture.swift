import ChatCompactor
import ChatDomain
import ChatHistory
import ChatTestSupport
import Foundation
import Kafka
import Logging
import Testing

/// An embedded cluster with the chat topics, a producer and an admin client.
final class ChatClusterFixture: Sendable {
    let cluster: EmbeddedKafkaCluster
    let producer: KafkaProducer
    let admin: KafkaAdmin
    let partitions: Int

    init(partitions: Int = 2) async throws {
        cluster = try EmbeddedKafkaCluster(brokers: 3, logger: quietLogger("test.kafka"))
        for topic in ChatTopics.all {
            try cluster.createTopic(topic, partitions: partitions, replicationFactor: 3)
        }
        self.partitions = partitions
        let kafka = Self.kafka(cluster.bootstrapServers)
        producer = try KafkaProducer(configuration: kafka, logger: quietLogger("test.producer"))
        admin = try KafkaAdmin(configuration: kafka, logger: quietLogger("test.admin"))
    }

    var kafka: KafkaConfiguration { Self.kafka(cluster.bootstrapServers) }

    static func kafka(_ bootstrap: String) -> KafkaConfiguration {
        KafkaConfiguration(bootstrapServers: bootstrap, properties: ["fetch.wait.max.ms": "2", "log_level": "3"])
    }

    func epoch() async throws -> LogEpoch {
        LogEpoch(clusterID: try await admin.clusterID(), topic: ChatTopics.rooms)
    }

    /// Produces raw values to one partition in order and returns their offsets.
    @discardableResult
    func produce(_ values: [[UInt8]], partition: Int32 = 0, key: String = "room") async throws -> [Int64] {
        var offsets: [Int64] = []
        for chunk in stride(from: 0, to: values.count, by: 5000) {
            let records = values[chunk..<min(values.count, chunk + 5000)].map {
                KafkaProducerRecord(topic: ChatTopics.rooms, partition: partition, key: Array(key.utf8), value: $0)
            }
            offsets += try await producer.send(records).get().map(\.offset)
        }
        return offsets
    }

    func compactorConfiguration(root: String, span: Int64) -> CompactorConfiguration {
        var configuration = CompactorConfiguration(kafka: kafka, snapshotRoot: root)
        configuration.duplicateSpan = span
        return configuration
    }

    func history(root: String, span: Int64) async throws -> SnapshotHistory {
        let reader = PartitionRangeReader(configuration: kafka, topic: ChatTopics.rooms, logger: quietLogger("test.reader"))
        return SnapshotHistory(
            store: SnapshotStore(directory: SnapshotDirectory(root: root, epoch: try await epoch())),
            log: LogHistory(reader: reader, admin: admin, partitioner: RoomPartitioner(partitionCount: Int32(partitions)), duplicateSpan: span),
            logger: quietLogger("test.history"))
    }

    /// Every visible message of `room` in `partition`, from snapshots plus the log.
    func fullHistory(_ history: SnapshotHistory, room: RoomName, partition: Int32) async throws -> [ChatMessage] {
        let watermarks = try await admin.watermarks(topic: ChatTopics.rooms, partition: partition)
        let view: RoomHistoryView
        if let snapshots = try await history.view(room: room, partition: partition, watermarks: watermarks) {
            view = snapshots
        } else {
            let tail = try await history.foldTail(
                room: room, partition: partition, from: watermarks.low, to: watermarks.high, low: watermarks.low, window: [])
            view = try RoomHistoryView(room: room, layers: [MemoryRoomLayer(contents: tail, room: room.value)])
        }
        return try await SnapshotIO.run {
            var messages: [ChatMessage] = []
            try view.forEachMessage { batch in
                messages += batch
                return true
            }
            return messages
        }
    }

    func shutdown() async {
        await producer.close()
        await admin.close()
        await cluster.shutdown()
    }
}

/// Runs `body` with a fixture and a temporary snapshot directory, cleaning both up.
func withChatCluster<Result>(partitions: Int = 2, _ body: (ChatClusterFixture, String) async throws -> Result) async throws -> Result {
    let fixture = try await ChatClusterFixture(partitions: partitions)
    let directory = try TemporaryDirectory()
    do {
        let result = try await body(fixture, directory.path)
        await fixture.shutdown()
        directory.remove()
        return result
    } catch {
        await fixture.shutdown()
        directory.remove()
        throw error
    }
}

/// The error a crash hook throws.
struct InjectedCrash: Error, Equatable {
    let point: CrashPoint
}
