import Kafka
import Testing

@Suite("Producer and consumer on the embedded cluster")
struct ProduceConsumeTests {
    @Test("10,000 records over 8 partitions on 3 brokers: per-partition order kept, nothing lost")
    func orderAndCompleteness() async throws {
        try await withCluster { cluster in
            let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers))
            let records = (0..<10_000).map { index in record("t", Int32(index % 8), "\(index)") }
            let positions = try await producer.send(records).get()
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

    @Test("A batch with records librdkafka refuses: those fail alone, by index, the others are delivered")
    func batchWithFailures() async throws {
        try await withCluster(partitions: 2) { cluster in
            let producer = try KafkaProducer(
                configuration: .init(
                    bootstrapServers: cluster.bootstrapServers,
                    properties: ["message.max.bytes": "10000", "delivery.timeout.ms": "5000"]))
            // Once the topic's metadata is known, librdkafka refuses a missing partition at once.
            _ = try await producer.send(record("t", 0, "warmup"))
            var records = (0..<1000).map { record("t", Int32($0 % 2), "\($0)") }
            records[10] = record("t", 7, "no such partition")
            records[500] = KafkaProducerRecord(topic: "t", partition: 1, value: Array(repeating: 0x78, count: 20_000))
            let result = await producer.send(records)

            #expect(result.count == 1000)
            #expect(result.deliveredCount == 998)
            #expect(!result.allDelivered)
            #expect(result.failures.map(\.index) == [10, 500])
            #expect(result.failures.map(\.error.code) == [.unknownPartition, .messageSizeTooLarge])
            #expect(result.failures[0].error.description.contains("t[7]"), "the error names the topic and partition")
            #expect(result.positions[10] == KafkaPosition(partition: 7, offset: KafkaBatchResult.noOffset))
            #expect(result.positions[500].offset == KafkaBatchResult.noOffset)
            #expect(result.error(at: 10)?.code == .unknownPartition)
            #expect(result.error(at: 11) == nil)
            #expect(throws: KafkaError.self) { try result.get() }
            if case .success = result[500] { Issue.record("record 500 is too large and must have failed") }
            #expect(try result[11].get().partition == 1)

            // The delivered records are dense and in order in their partitions (offset 0 is the warm-up).
            for partition in Int32(0)..<2 {
                let offsets = result.positions.enumerated()
                    .filter { result.error(at: $0.offset) == nil && $0.element.partition == partition }.map(\.element.offset)
                let first: Int64 = partition == 0 ? 1 : 0
                #expect(offsets == Array(first..<first + Int64(offsets.count)), "partition \(partition)")
            }
            #expect(result.positions.filter { $0.offset >= 0 }.count == 998)

            await producer.close()
            let late = await producer.send([record("t", 0, "late"), record("t", 1, "late")])
            #expect(late.deliveredCount == 0)
            #expect(late.failures.map(\.index) == [0, 1])
            #expect(late.failures.allSatisfy { $0.error.code == .destroyed })
            let empty = await producer.send([])
            #expect(empty.count == 0)
        }
    }

    @Test("KafkaBatchResult finds a failure by index and reports the first one")
    func batchResultLookup() throws {
        let positions = (0..<10).map { KafkaPosition(partition: 0, offset: Int64($0)) }
        let failures = [3, 4, 8].map { KafkaBatchResult.Failure(index: $0, error: KafkaError(code: .messageTimedOut, message: "record \($0)")) }
        let result = KafkaBatchResult(positions: positions, failures: failures)
        #expect((0..<10).filter { result.error(at: $0) != nil } == [3, 4, 8])
        #expect(result.error(at: 4)?.message == "record 4")
        #expect(result.deliveredCount == 7)
        #expect(throws: KafkaError.self) { try result.get() }
        do {
            _ = try result.get()
        } catch {
            #expect(error.message == "record 3")
        }
        #expect(try KafkaBatchResult(positions: positions).get() == positions)
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

    @Test("whenComplete reports each record's delivery once, in produce order, also when registered after the report")
    func deliveryCompletions() async throws {
        try await withCluster(partitions: 2) { cluster in
            let producer = try KafkaProducer(
                configuration: .init(bootstrapServers: cluster.bootstrapServers, properties: ["delivery.timeout.ms": "3000"]))
            let reports = Locked<[Result<KafkaPosition, KafkaError>]>([])
            var deliveries: [KafkaDelivery] = []
            for index in 0..<200 {
                let delivery = try producer.produce(record("t", 1, "r\(index)"))
                delivery.whenComplete { result in reports.withLock { $0.append(result) } }
                deliveries.append(delivery)
            }
            // One more to a partition the topic does not have: its report is a failure.
            let refused = try producer.produce(record("t", 7, "nowhere"))
            refused.whenComplete { result in reports.withLock { $0.append(result) } }
            for delivery in deliveries { _ = try await delivery.position() }
            await #expect(throws: KafkaError.self) { _ = try await refused.position() }
            let positions = reports.withLock { $0 }.compactMap { try? $0.get() }
            #expect(positions == (0..<200).map { KafkaPosition(partition: 1, offset: Int64($0)) })
            #expect(reports.withLock { $0.count } == 201)
            // Registered after the report came: called at once, with the same position.
            let late = Locked<KafkaPosition?>(nil)
            deliveries[42].whenComplete { result in late.withLock { $0 = try? result.get() } }
            #expect(late.withLock { $0 } == KafkaPosition(partition: 1, offset: 42))
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
