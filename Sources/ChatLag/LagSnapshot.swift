import Kafka

/// Everything one sampling pass read from the cluster: the input of ``LagHistory``.
public struct LagSnapshot: Sendable {
    /// When the pass read the committed offsets, in milliseconds since the Unix epoch.
    public var time: Int64
    /// Set when the cluster could not be read at all; the other fields are then empty.
    public var clusterError: String?
    /// Log start and end offsets of every partition of the chat topics, or why they are unknown.
    public var partitions: [KafkaTopicPartitionKey: PartitionOffsets]
    /// Each group's committed offsets, or why they could not be read.
    public var groups: [String: GroupOffsets]
    /// Timestamps (ms since the epoch) of the records at committed offsets, where they were read.
    public var recordTimestamps: [PartitionOffset: Int64]

    public init(
        time: Int64, clusterError: String? = nil, partitions: [KafkaTopicPartitionKey: PartitionOffsets] = [:],
        groups: [String: GroupOffsets] = [:], recordTimestamps: [PartitionOffset: Int64] = [:]
    ) {
        self.time = time
        self.clusterError = clusterError
        self.partitions = partitions
        self.groups = groups
        self.recordTimestamps = recordTimestamps
    }
}

/// A partition's log start and end offsets, or why they could not be read.
public enum PartitionOffsets: Sendable, Hashable {
    case offsets(logStart: Int64, logEnd: Int64)
    case error(String)
}

/// A group's committed offsets (absent partitions have none), or why they could not be read.
public enum GroupOffsets: Sendable, Hashable {
    case committed([KafkaTopicPartitionKey: Int64])
    case error(String)
}

/// An offset of a topic partition.
public struct PartitionOffset: Sendable, Hashable {
    public var partition: KafkaTopicPartitionKey
    public var offset: Int64

    public init(partition: KafkaTopicPartitionKey, offset: Int64) {
        self.partition = partition
        self.offset = offset
    }
}
