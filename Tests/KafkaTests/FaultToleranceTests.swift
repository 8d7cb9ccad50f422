import Kafka
import Testing

@Suite("Idempotent producer under faults")
struct FaultToleranceTests {
    @Test("Injected request errors and a leader move: no duplicate, no loss, order kept")
    func idempotentUnderFaults() async throws {
        try await withCluster(partitions: 4) { cluster in
            let producer = try KafkaProducer(
                configuration: .init(
                    bootstrapServers: cluster.bootstrapServers,
                    properties: ["retry.backoff.ms": "10", "linger.ms": "2"]))
            // Warm up so the producer id is known before faults start.
            _ = try await producer.send(record("t", 0, "warmup"))

            cluster.pushRequestErrors(
                api: .produce,
                errors: [.notLeaderForPartition, .requestTimedOut, .notEnoughReplicas, .leaderNotAvailable, .requestTimedOut])
            async let firstHalf = producer.send((0..<2000).map { record("t", Int32($0 % 4), "\($0)") })
            try await Task.sleep(for: .milliseconds(5))
            try cluster.setPartitionLeader(topic: "t", partition: 1, broker: 3)
            try cluster.setPartitionLeader(topic: "t", partition: 2, broker: 1)
            let first = await firstHalf
            cluster.pushRequestErrors(api: .produce, errors: [.notLeaderForPartition, .requestTimedOut])
            let second = await producer.send((2000..<4000).map { record("t", Int32($0 % 4), "\($0)") })
            _ = try first.get()
            _ = try second.get()

            let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster))
            try await consumer.assign((0..<4).map { KafkaTopicPartition(topic: "t", partition: $0, offset: .beginning) })
            let received = try await collect(consumer, count: 4001)
            let values = received.map { String(decoding: $0.value, as: UTF8.self) }.filter { $0 != "warmup" }
            #expect(values.count == 4000, "no loss and no duplicate")
            #expect(Set(values).count == 4000)
            for partition in Int32(0)..<4 {
                let numbers = received.filter { $0.partition == partition }.compactMap { Int(String(decoding: $0.value, as: UTF8.self)) }
                #expect(numbers == numbers.sorted(), "partition \(partition) keeps produce order")
            }
            await consumer.close()
            await producer.close()
        }
    }

    @Test("A broker down and up again: sends in the outage are delivered once it is back")
    func brokerOutage() async throws {
        try await withCluster(partitions: 3) { cluster in
            let producer = try KafkaProducer(
                configuration: .init(bootstrapServers: cluster.bootstrapServers, properties: ["retry.backoff.ms": "10"]))
            _ = try await producer.send(record("t", 0, "warmup"))
            try cluster.setBrokerDown(1)
            try cluster.setBrokerDown(2)
            try cluster.setBrokerDown(3)
            async let sent = producer.send((0..<300).map { record("t", Int32($0 % 3), "\($0)") })
            try await Task.sleep(for: .milliseconds(500))
            try cluster.setBrokerUp(1)
            try cluster.setBrokerUp(2)
            try cluster.setBrokerUp(3)
            _ = try await sent.get()
            let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster))
            try await consumer.assign((0..<3).map { KafkaTopicPartition(topic: "t", partition: $0, offset: .beginning) })
            let received = try await collect(consumer, count: 301)
            #expect(Set(received.map { String(decoding: $0.value, as: UTF8.self) }).count == 301)
            await consumer.close()
            await producer.close()
        }
    }
}
