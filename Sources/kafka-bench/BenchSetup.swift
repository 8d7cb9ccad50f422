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

    /// The wrapper's consumer defaults plus a 1 ms fetch wait, without which the embedded
    /// cluster holds every fetch for 500 ms.
    static let consumerProperties = KafkaConsumer.defaultProperties.merging([
        "fetch.wait.max.ms": "1",
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
