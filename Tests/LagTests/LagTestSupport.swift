import ChatDomain
import ChatGateway
import ChatLag
import ChatProvisioning
import ChatTestSupport
import Foundation
import Kafka
import Logging
import Testing

func nowMilliseconds() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded()) }

/// An embedded cluster with the chat topics, a producer, and helpers to commit as a group.
final class LagFixture: Sendable {
    let cluster: EmbeddedKafkaCluster
    let configuration: KafkaConfiguration
    let producer: KafkaProducer
    let admin: KafkaAdmin

    private init(partitions: Int) throws {
        cluster = try EmbeddedKafkaCluster(brokers: 3, logger: quietLogger())
        try ChatTopicLayout(partitions: partitions).create(on: cluster)
        configuration = KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, properties: ["fetch.wait.max.ms": "5"])
        producer = try KafkaProducer(configuration: configuration, logger: quietLogger())
        admin = try KafkaAdmin(configuration: configuration, logger: quietLogger())
    }

    static func with<Result>(partitions: Int = 4, _ body: (LagFixture) async throws -> Result) async throws -> Result {
        let fixture = try LagFixture(partitions: partitions)
        do {
            let result = try await body(fixture)
            await fixture.shutdown()
            return result
        } catch {
            await fixture.shutdown()
            throw error
        }
    }

    private func shutdown() async {
        await producer.close()
        await admin.close()
        await cluster.shutdown()
    }

    /// Produces `count` records; returns their offsets.
    @discardableResult
    func produce(_ count: Int, partition: Int32, topic: String = ChatTopics.rooms, timestamp: Int64? = nil, key: String = "room")
        async throws -> [Int64]
    {
        var offsets: [Int64] = []
        for index in 0..<count {
            let record = KafkaProducerRecord(
                topic: topic, partition: partition, key: Array(key.utf8), value: Array("event \(index)".utf8), timestampMilliseconds: timestamp)
            offsets.append(try await producer.send(record).offset)
        }
        return offsets
    }

    /// Commits offsets as `group` would, without joining it (like the fan-out does).
    func commit(group: String, _ offsets: [Int32: Int64], topic: String = ChatTopics.rooms) async throws {
        var groupConfiguration = configuration
        groupConfiguration["group.id"] = group
        let consumer = try KafkaConsumer(configuration: groupConfiguration, logger: quietLogger())
        do {
            try await consumer.commit(offsets.map { KafkaTopicPartition(topic: topic, partition: $0.key, offset: .exact($0.value)) })
        } catch {
            await consumer.close()
            throw error
        }
        await consumer.close()
    }

    func sampler() -> LagSampler {
        LagSampler(
            admin: admin, timestamps: RecordTimestampReader(configuration: configuration, logger: quietLogger()), timeout: .seconds(5))
    }
}

extension LagReport {
    func group(_ name: String) throws -> GroupLag {
        try #require(groups.first { $0.group == name }, "group \(name) in the report")
    }
}

extension GroupLag {
    func partition(_ partition: Int32, topic: String = ChatTopics.rooms) throws -> PartitionLag {
        try #require(partitions.first { $0.topic == topic && $0.partition == partition }, "\(topic)[\(partition)] of \(group)")
    }
}
