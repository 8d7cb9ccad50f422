import Logging

/// Reads ranges of offsets of one topic's partitions as ``KafkaPartitionRecords``: through a
/// long-lived ``KafkaPartitionReader`` shared by every read, or with a consumer of its own per read
/// (no group) that the read closes when it ends.
///
/// Used for what the fan-out cache does not hold: history pages, author lookups and replays
/// (shared), and tools that read once.
public struct PartitionRangeReader: Sendable {
    public let topic: String
    /// The reader reads go through.
    public let shared: KafkaPartitionReader

    /// A reader that opens a consumer per read and closes it when the read ends; its reads run
    /// one at a time.
    public init(
        configuration: KafkaConfiguration, topic: String, idleTimeout: Duration = .seconds(10),
        logger: Logger = Logger(label: "chat.history.reader")
    ) {
        self.topic = topic
        self.shared = KafkaPartitionReader(
            configuration: configuration, topic: topic, idleTimeout: idleTimeout, maxWaiting: .max, closesAfterEachRead: true, logger: logger)
    }

    /// A reader whose reads share `shared`'s consumer.
    public init(shared: KafkaPartitionReader) {
        self.topic = shared.topic
        self.shared = shared
    }

    /// The records of `[from, to)` of `partition` in offset order; see
    /// ``KafkaPartitionReader/records(partition:from:to:)``.
    public func records(partition: Int32, from: Int64, to: Int64) -> KafkaPartitionRecords {
        shared.records(partition: partition, from: from, to: to)
    }
}
