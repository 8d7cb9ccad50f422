import ChatDomain
import Kafka

/// Settings of a gateway node's fan-out.
public struct FanoutConfiguration: Sendable {
    /// Consumer settings (bootstrap servers, TLS / SASL, `fetch.wait.max.ms`).
    public var kafka: KafkaConfiguration
    public var roomsTopic: String
    /// History snapshots: a join whose `since` is older than the log start catches up from them.
    public var snapshots: (any CatchUpSource)?
    /// Ephemeral room events (typing, read positions), read live from the same partition numbers.
    public var signalsTopic: String = "chat.signals"
    /// Consumer group under which the node commits its fan-out position (`chat-fanout-<node-id>`),
    /// so lag is visible to `chatctl lag` and standard Kafka tools. The node never joins the group.
    public var groupID: String
    public var partitioner: RoomPartitioner
    public var epoch: LogEpoch
    /// Offsets back within which a post with the same (room, user, cmid) is a retry.
    public var duplicateSpan: Int64 = 10_000
    /// Recent events kept per room so that most joins and resumes never read Kafka.
    public var cachedEventsPerRoom: Int = 1000
    /// Rooms with a cache, per partition; the least recently active lose theirs first.
    public var cachedRoomsPerPartition: Int = 5000
    /// Live events held for a subscriber while it catches up from the log.
    public var catchUpBacklogLimit: Int = 50_000
    public var commitInterval: Duration = .seconds(1)
    /// Bounds the catch-ups from the log running and waiting at once (shared with history reads);
    /// a join beyond it gets `unavailable` ("join again") instead of one more task.
    public var readLimiter = ConcurrencyLimiter(maxRunning: 64, maxWaiting: 1024)
    /// Read every room partition from start-up instead of on the first join of one of its rooms.
    /// Costs reading all partitions on every node (see the cost model in docs/gateway.md) and
    /// saves each first join the wait for a new partition's first fetch (about a second).
    public var assignAllPartitions = true

    public init(kafka: KafkaConfiguration, roomsTopic: String = "chat.rooms", groupID: String, partitioner: RoomPartitioner, epoch: LogEpoch) {
        self.kafka = kafka
        self.roomsTopic = roomsTopic
        self.groupID = groupID
        self.partitioner = partitioner
        self.epoch = epoch
    }
}
