import ChatDomain
import Kafka

/// Settings of a gateway node's fan-out.
public struct FanoutConfiguration: Sendable {
    /// Consumer settings (bootstrap servers, TLS / SASL, `fetch.wait.max.ms`).
    public var kafka: KafkaConfiguration
    public var roomsTopic: String
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

    public init(kafka: KafkaConfiguration, roomsTopic: String = "chat.rooms", groupID: String, partitioner: RoomPartitioner, epoch: LogEpoch) {
        self.kafka = kafka
        self.roomsTopic = roomsTopic
        self.groupID = groupID
        self.partitioner = partitioner
        self.epoch = epoch
    }
}
