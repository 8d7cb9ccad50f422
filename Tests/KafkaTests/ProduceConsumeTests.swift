import Kafka
import Testing

@Suite("Producer and consumer on the embedded cluster")
struct ProduceConsumeTests {
    @Test("10,000 records over 8 partitions on 3 brokers: per-partition order kept, nothing lost")
    func orderAndCompleteness() async throws {
        try await withCluster { cluster in
            let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers))
            let records = (0..<10_000).map { index in record("t", Int32(index % 8), "\(index)") }
            let results = await producer.send(records)
            let positions = try results.map { try $0.get() }
            #expect(positions.count == 10_000)
            for partition in 0..<8 {
                let offsets = positions.enumerated().filter { $0.offset % 8 == partition }.map(\.element.offset)
                #expect(offsets == Array(0..<Int64(offsets.count)), "partition \(partition) offsets are dense and ordered")
            }

            let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster))
            try await consumer.assign((0..<8).map { KafkaTopicPartition(topic: "t", partition: $0, offset: .beginning) })
            let received = try await collect(consumer, count: 10_000)
            #expect(received.count == 10_000)
            for partition in Int32(0)..<8 {
                let values = received.filter { $0.partition == partition }.map { Int(String(decoding: $0.value, as: UTF8.self))! }
                #expect(values == values.sorted(), "partition \(partition) in produce order")
                #expect(values.count == 1250)
                #expect(values.allSatisfy { $0 % 8 == Int(partition) })
            }
            #expect(Set(received.map { String(decoding: $0.value, as: UTF8.self) }).count == 10_000)
            await consumer.close()
            await producer.close()
        }
    }

    @Test("Keys, headers and timestamps round-trip")
    func recordFields() async throws {
        try await withCluster(partitions: 1) { cluster in
            let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers))
            let sent = KafkaProducerRecord(
                topic: "t", partition: 0, key: Array("room-1".utf8), value: Array("hello".utf8),
                headers: [KafkaHeader(key: "type", value: Array("message".utf8))], timestampMilliseconds: 1_700_000_000_123)
            let position = try await producer.send(sent)
            #expect(position == KafkaPosition(partition: 0, offset: 0))
            let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster))
            try await consumer.assign([KafkaTopicPartition(topic: "t", partition: 0, offset: .beginning)])
            let received = try #require(try await collect(consumer, count: 1).first)
            #expect(received.key == Array("room-1".utf8))
            #expect(received.value == Array("hello".utf8))
            #expect(received.headers == sent.headers)
            #expect(received.timestampMilliseconds == 1_700_000_000_123)
            #expect(received.topic == "t")
            await consumer.close()
            await producer.close()
        }
    }

    @Test("Producing to a partition that does not exist fails with a clear error")
    func unknownPartition() async throws {
        try await withCluster(partitions: 2) { cluster in
            let producer = try KafkaProducer(
                configuration: .init(bootstrapServers: cluster.bootstrapServers, properties: ["delivery.timeout.ms": "3000"]))
            await #expect(throws: KafkaError.self) {
                _ = try await producer.send(record("t", 7, "nowhere"))
            }
            await producer.close()
        }
    }

    @Test("A producer loads topic metadata up front, and says so when no broker answers")
    func topicMetadataUpFront() async throws {
        try await withCluster(partitions: 4) { cluster in
            let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers))
            try await producer.loadTopicMetadata(timeout: .seconds(5))
            let position = try await producer.send(record("t", 3, "after metadata"))
            #expect(position.partition == 3)
            await producer.close()
        }
        let unreachable = try KafkaProducer(configuration: .init(bootstrapServers: "127.0.0.1:1", properties: ["log_level": "0"]))
        await #expect(throws: KafkaError.self) {
            try await unreachable.loadTopicMetadata(timeout: .milliseconds(500))
        }
        await unreachable.close(flushTimeout: .milliseconds(100))
    }
}
