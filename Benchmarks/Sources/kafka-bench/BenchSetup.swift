import CKafkaBaseline
import Kafka

/// The settings both sides run with. Everything a result depends on is here, so the C baseline
/// and the wrapper are configured identically and their figures can be divided.
struct BenchSetup: Sendable, Codable {
    var messages: Int
    var payloadBytes: Int
    var brokers: Int
    var partitions: Int
    var replicationFactor: Int
    var rounds: Int
    var batchSize: Int
    var batchesInFlight: Int
    var singleSendTasks: Int
    var latencyRatePerSecond: Int
    var latencySeconds: Double
    var producerProperties: [String: String]
    var consumerProperties: [String: String]
    var librdkafkaVersion: String

    /// The wrapper's producer defaults, spelled out so the C producer gets the very same
    /// (librdkafka's own `linger.ms` default of 5 ms would otherwise skew latency against C).
    static let producerProperties = KafkaProducer.defaultProperties

    /// The wrapper's consumer defaults plus two settings for the embedded cluster:
    /// - a 1 ms fetch wait, without which the embedded cluster holds every fetch for 500 ms;
    /// - room for a whole pre-filled topic in librdkafka's local queue. At the default
    ///   `queued.min.messages` (100,000, counted over all partitions of the consumer queue)
    ///   librdkafka 2.0.2 stops fetching once a reader falls that far behind and resumes only
    ///   on its broker thread's next wake-up, about a second later; a read-back measurement of
    ///   a 200,000-record topic would then time that pause rather than the reader.
    static let consumerProperties = KafkaConsumer.defaultProperties.merging([
        "fetch.wait.max.ms": "1",
        "queued.min.messages": "10000000",
        "group.id": "kafka-bench",
    ]) { _, new in new }

    var latencyRecordCount: Int { Int(Double(latencyRatePerSecond) * latencySeconds) }

    static var librdkafkaVersionString: String { String(cString: ckb_librdkafka_version()) }
}

/// A topic on one side's embedded cluster.
struct BenchTarget: Sendable {
    var bootstrapServers: String
    var topic: String
    var partitions: Int
}

extension BenchTarget {
    /// What a reader from the beginning will get: the embedded cluster drops a partition's oldest
    /// records past about 5 MiB, so large `--messages` runs read less than they wrote.
    func retainedRecordCount() async throws -> Int {
        let admin = try KafkaAdmin(configuration: KafkaConfiguration(bootstrapServers: bootstrapServers))
        var total: Int64 = 0
        for partition in 0..<partitions {
            let marks = try await admin.watermarks(topic: topic, partition: Int32(partition))
            total += marks.high - marks.low
        }
        await admin.close()
        return Int(total)
    }
}
