import Kafka
import Testing

@Suite("Groups, assignment, offsets and watermarks")
struct GroupAndAdminTests {
    @Test("Two group consumers share partitions and rebalance when one leaves")
    func groupRebalance() async throws {
        try await withCluster(partitions: 4) { cluster in
            let configuration = consumerConfiguration(cluster, group: "g1").withDefaults(["session.timeout.ms": "6000"])
            let first = try KafkaConsumer(configuration: configuration)
            let second = try KafkaConsumer(configuration: configuration)
            try await first.subscribe(topics: ["t"])
            try await second.subscribe(topics: ["t"])

            let deadline = ContinuousClock.now.advanced(by: .seconds(30))
            var shared = false
            while ContinuousClock.now < deadline {
                let a = try await first.assignment().count
                let b = try await second.assignment().count
                if a > 0, b > 0, a + b == 4 {
                    shared = true
                    break
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(shared, "both consumers own some of the 4 partitions")

            await second.close()
            var tookOver = false
            while ContinuousClock.now < deadline {
                if try await first.assignment().count == 4 {
                    tookOver = true
                    break
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(tookOver, "the remaining consumer owns every partition after the other left")
            await first.close()
        }
    }

    @Test("Manual assign at an offset reads from exactly there")
    func assignAtOffset() async throws {
        try await withCluster(partitions: 1) { cluster in
            let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers))
            _ = try await producer.send((0..<100).map { record("t", 0, "\($0)") }).get()
            let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster))
            try await consumer.incrementalAssign([KafkaTopicPartition(topic: "t", partition: 0, offset: .exact(42))])
            let received = try await collect(consumer, count: 58)
            #expect(received.first?.offset == 42)
            #expect(received.map(\.offset) == Array(42..<100))
            await consumer.close()
            await producer.close()
        }
    }

    @Test("Committed offsets and watermarks read back correctly")
    func committedAndWatermarks() async throws {
        try await withCluster(partitions: 2) { cluster in
            let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers))
            _ = try await producer.send((0..<30).map { record("t", Int32($0 % 2), "\($0)") }).get()
            let admin = try KafkaAdmin(configuration: .init(bootstrapServers: cluster.bootstrapServers))
            let watermarks = try await admin.watermarks(topic: "t", partition: 0)
            #expect(watermarks == KafkaWatermarks(low: 0, high: 15))
            #expect(try await admin.partitionCount(topic: "t") == 2)
            #expect(try await admin.partitionCount(topic: "missing") == nil)
            #expect(!(try await admin.clusterID()).isEmpty)

            let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster, group: "lag-group"))
            try await consumer.assign([KafkaTopicPartition(topic: "t", partition: 0, offset: .beginning)])
            _ = try await collect(consumer, count: 10)
            try await consumer.commit([KafkaTopicPartition(topic: "t", partition: 0, offset: .exact(10))])
            let committed = try await admin.committedOffsets(group: "lag-group", topic: "t", partitions: [0, 1])
            #expect(committed[0] == 10)
            #expect(committed[1] == nil, "a partition without a commit is reported as such")
            await consumer.close()
            await admin.close()
            await producer.close()
        }
    }
}
