/// A header of a Kafka record.
public struct KafkaHeader: Sendable, Hashable {
    public var key: String
    public var value: [UInt8]

    public init(key: String, value: [UInt8]) {
        self.key = key
        self.value = value
    }
}

/// A record to produce. The partition is always explicit: the chat system maps rooms to
/// partitions itself and never mixes that with librdkafka's partitioner.
public struct KafkaProducerRecord: Sendable {
    public var topic: String
    public var partition: Int32
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [KafkaHeader]
    /// Milliseconds since the Unix epoch; `nil` lets the producer stamp the current time.
    @inlinable
    public var timestampMilliseconds: Int64? {
        get { timestamp == Self.noTimestamp ? nil : timestamp }
        set { timestamp = newValue ?? Self.noTimestamp }
    }

    /// The timestamp, `noTimestamp` for none. Stored as a plain `Int64` rather than an `Int64?`:
    /// with the optional field the optimizer (Swift 6.3) built each record in a temporary and
    /// copied it, three retains and three releases, into the array a caller fills; without it,
    /// records are built in place.
    @usableFromInline
    var timestamp: Int64
    @usableFromInline
    static let noTimestamp = Int64.min

    /// Inlinable, so that callers building many records construct each in place, without a call
    /// per record.
    @inlinable
    public init(
        topic: String,
        partition: Int32,
        key: [UInt8]? = nil,
        value: [UInt8],
        headers: [KafkaHeader] = [],
        timestampMilliseconds: Int64? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestampMilliseconds ?? Self.noTimestamp
    }
}

/// A record read from Kafka.
public struct KafkaRecord: Sendable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]
    public var headers: [KafkaHeader]
    /// Milliseconds since the Unix epoch (create time or log append time), `-1` when unknown.
    public var timestampMilliseconds: Int64

    public init(
        topic: String, partition: Int32, offset: Int64, key: [UInt8]?, value: [UInt8],
        headers: [KafkaHeader] = [], timestampMilliseconds: Int64
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestampMilliseconds = timestampMilliseconds
    }
}

/// Where a produced record landed.
public struct KafkaPosition: Sendable, Hashable {
    public var partition: Int32
    public var offset: Int64

    public init(partition: Int32, offset: Int64) {
        self.partition = partition
        self.offset = offset
    }
}

/// A topic partition, optionally with an offset (the next offset to read, or to commit).
public struct KafkaTopicPartition: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: KafkaOffset

    public init(topic: String, partition: Int32, offset: KafkaOffset = .stored) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
    }
}

/// A starting point in a partition.
public enum KafkaOffset: Sendable, Hashable {
    case beginning
    case end
    /// The group's committed offset (falls back to `auto.offset.reset`).
    case stored
    case exact(Int64)

    var native: Int64 {
        switch self {
        case .beginning: -2  // RD_KAFKA_OFFSET_BEGINNING
        case .end: -1  // RD_KAFKA_OFFSET_END
        case .stored: -1000  // RD_KAFKA_OFFSET_STORED
        case .exact(let offset): offset
        }
    }

    init(native: Int64) {
        switch native {
        case -2: self = .beginning
        case -1: self = .end
        case -1000, -1001: self = .stored
        default: self = .exact(native)
        }
    }
}

/// The low (oldest retained) and high (next to be written) offsets of a partition.
public struct KafkaWatermarks: Sendable, Hashable {
    public var low: Int64
    public var high: Int64

    public init(low: Int64, high: Int64) {
        self.low = low
        self.high = high
    }
}
