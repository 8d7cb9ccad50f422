/// The lag of every group, as `chatctl lag` shows and exports it.
public struct LagReport: Sendable, Codable, Hashable {
    /// When the latest sample was taken, in milliseconds since the Unix epoch.
    public var sampledAt: Int64
    /// How many samples the statuses are based on (at most the window size).
    public var samples: Int
    /// Set when the latest sample could not read the cluster.
    public var error: String?
    public var groups: [GroupLag]
    /// Log start and end offsets of the chat topics' partitions.
    public var partitions: [PartitionLogOffsets]

    public init(sampledAt: Int64, samples: Int, error: String?, groups: [GroupLag], partitions: [PartitionLogOffsets]) {
        self.sampledAt = sampledAt
        self.samples = samples
        self.error = error
        self.groups = groups
        self.partitions = partitions
    }
}

/// One group: the worst of its partitions, and each partition.
public struct GroupLag: Sendable, Codable, Hashable {
    public var group: String
    /// OK, WARN, or ERR when any partition is STALL, STOP or ERR or the offsets are unreadable.
    public var status: LagStatus
    /// The worst partition status; `nil` when no partition has a committed offset.
    public var worstPartitionStatus: LagStatus?
    /// Sum and maximum of the lag of the partitions with a committed offset.
    public var totalLag: Int64
    public var maxLag: Int64
    public var maxLagSeconds: Double?
    /// Why the group's offsets could not be read, if they could not.
    public var error: String?
    public var partitions: [PartitionLag]

    public init(
        group: String, status: LagStatus, worstPartitionStatus: LagStatus?, totalLag: Int64, maxLag: Int64, maxLagSeconds: Double?,
        error: String?, partitions: [PartitionLag]
    ) {
        self.group = group
        self.status = status
        self.worstPartitionStatus = worstPartitionStatus
        self.totalLag = totalLag
        self.maxLag = maxLag
        self.maxLagSeconds = maxLagSeconds
        self.error = error
        self.partitions = partitions
    }
}

/// One group on one partition.
public struct PartitionLag: Sendable, Codable, Hashable {
    public var topic: String
    public var partition: Int32
    /// `nil`: the group has no committed offset here (not the same as being behind).
    public var committedOffset: Int64?
    public var logStartOffset: Int64?
    public var logEndOffset: Int64?
    public var lag: Int64?
    /// Age of the oldest message not yet committed (0 when caught up); `nil` when unknown.
    public var lagSeconds: Double?
    /// `nil` together with `committedOffset`.
    public var status: LagStatus?
    public var reason: String

    public init(
        topic: String, partition: Int32, committedOffset: Int64?, logStartOffset: Int64?, logEndOffset: Int64?, lag: Int64?,
        lagSeconds: Double?, status: LagStatus?, reason: String
    ) {
        self.topic = topic
        self.partition = partition
        self.committedOffset = committedOffset
        self.logStartOffset = logStartOffset
        self.logEndOffset = logEndOffset
        self.lag = lag
        self.lagSeconds = lagSeconds
        self.status = status
        self.reason = reason
    }
}

/// A partition's log offsets (`kafka_partition_earliest_offset` / `kafka_partition_latest_offset`).
public struct PartitionLogOffsets: Sendable, Codable, Hashable {
    public var topic: String
    public var partition: Int32
    public var earliest: Int64
    public var latest: Int64

    public init(topic: String, partition: Int32, earliest: Int64, latest: Int64) {
        self.topic = topic
        self.partition = partition
        self.earliest = earliest
        self.latest = latest
    }
}
