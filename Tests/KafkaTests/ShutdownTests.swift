import Kafka
import Testing

@Suite("Shutdown")
struct ShutdownTests {
    @Test("Closing a producer with records in flight delivers or fails each of them, without hanging")
    func producerCloseInFlight() async throws {
        try await withCluster(partitions: 2) { cluster in
            let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers))
            async let results = producer.send((0..<5000).map { record("t", Int32($0 % 2), "\($0)") })
            try await Task.sleep(for: .milliseconds(2))
            await producer.close(flushTimeout: .seconds(5))
            let outcomes = await results
            #expect(outcomes.count == 5000, "every send got an answer")
            await #expect(throws: KafkaError.self) { _ = try await producer.send(record("t", 0, "late")) }
            await producer.close()
        }
    }

    @Test("Records sent one at a time by many tasks while the producer closes are each delivered or failed")
    func producerCloseWithSingleSends() async throws {
        try await withCluster(partitions: 2) { cluster in
            let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers))
            _ = try await producer.send(record("t", 0, "warmup"))
            let outcomes = await withTaskGroup(of: (delivered: Int, failed: Int).self) { group in
                for task in 0..<100 {
                    group.addTask {
                        var (delivered, failed) = (0, 0)
                        for index in 0..<50 {
                            do {
                                _ = try await producer.send(record("t", Int32(index % 2), "\(task)-\(index)"))
                                delivered += 1
                            } catch {
                                failed += 1
                            }
                        }
                        return (delivered, failed)
                    }
                }
                group.addTask {
                    try? await Task.sleep(for: .milliseconds(20))
                    await producer.close(flushTimeout: .seconds(5))
                    return (0, 0)
                }
                return await group.reduce(into: (delivered: 0, failed: 0)) {
                    $0.delivered += $1.delivered
                    $0.failed += $1.failed
                }
            }
            #expect(outcomes.delivered + outcomes.failed == 5000, "every send got an answer")
            #expect(outcomes.failed > 0, "sends after close fail")
        }
    }

    @Test("Cancelling the task reading records and closing the consumer does not hang")
    func consumerCancellation() async throws {
        try await withCluster(partitions: 1) { cluster in
            let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster))
            try await consumer.assign([KafkaTopicPartition(topic: "t", partition: 0, offset: .end)])
            let reader = Task {
                var count = 0
                for try await _ in consumer.records { count += 1 }
                return count
            }
            try await Task.sleep(for: .milliseconds(100))
            reader.cancel()
            _ = await reader.result
            await consumer.close()
            await consumer.close()
            await #expect(throws: KafkaError.self) { try await consumer.assign([]) }
        }
    }

    @Test("A consumer with a full buffer still closes")
    func closeWithFullBuffer() async throws {
        try await withCluster(partitions: 1) { cluster in
            let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers))
            _ = try await producer.send((0..<500).map { record("t", 0, "\($0)") }).get()
            let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster), bufferCapacity: 10)
            try await consumer.assign([KafkaTopicPartition(topic: "t", partition: 0, offset: .beginning)])
            try await Task.sleep(for: .milliseconds(300))
            await consumer.close()
            await producer.close()
        }
    }
}
