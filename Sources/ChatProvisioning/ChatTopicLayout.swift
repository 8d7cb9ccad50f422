import ChatDomain

/// The topics of the system with their partition counts, replication and configuration: the one
/// definition that `chatctl topics apply`, `chatctl kafka` and the embedded cluster of `chatd` use.
public struct ChatTopicLayout: Sendable, Hashable {
    /// Partitions of every topic. `chat.rooms` and `chat.signals` must keep the same count.
    public var partitions: Int
    public var replicationFactor: Int

    public init(partitions: Int, replicationFactor: Int = 3) {
        self.partitions = partitions
        self.replicationFactor = replicationFactor
    }

    /// Room events are kept this long; older history lives in the compactor's snapshots.
    public static let roomsRetentionMilliseconds: Int64 = 7 * 24 * 3600 * 1000
    /// Typing and other ephemeral signals matter for seconds; minutes of retention is plenty.
    public static let signalsRetentionMilliseconds: Int64 = 10 * 60 * 1000

    /// Acknowledged writes survive one broker loss: `acks=all` waits for this many replicas.
    public var minInSyncReplicas: Int { min(2, max(1, replicationFactor - 1)) }

    /// Every topic, in `ChatTopics.all` order.
    public var topics: [ChatTopicSpecification] {
        let minISR = ["min.insync.replicas": String(minInSyncReplicas)]
        func topic(_ name: String, _ configs: [String: String]) -> ChatTopicSpecification {
            ChatTopicSpecification(
                name: name, partitions: partitions, replicationFactor: replicationFactor, configs: configs.merging(minISR) { own, _ in own })
        }
        return [
            topic(
                ChatTopics.rooms,
                [
                    "cleanup.policy": "delete", "retention.ms": String(Self.roomsRetentionMilliseconds),
                    "message.timestamp.type": "CreateTime",
                ]),
            topic(
                ChatTopics.presence,
                ["cleanup.policy": "compact", "min.compaction.lag.ms": "0", "delete.retention.ms": "86400000", "segment.ms": "3600000"]),
            topic(
                ChatTopics.signals,
                ["cleanup.policy": "delete", "retention.ms": String(Self.signalsRetentionMilliseconds), "segment.ms": "300000"]),
            topic(ChatTopics.cursors, ["cleanup.policy": "compact", "delete.retention.ms": "86400000", "segment.ms": "3600000"]),
        ]
    }

    /// Topics whose partition count is the room placement: changing it moves rooms unless the
    /// growth procedure is followed (docs/deploy.md, "Growing partitions").
    public static let placementTopics: Set<String> = [ChatTopics.rooms, ChatTopics.signals]
}

/// One topic of the layout.
public struct ChatTopicSpecification: Sendable, Hashable {
    public var name: String
    public var partitions: Int
    public var replicationFactor: Int
    /// Topic-level settings, as Kafka names them (`cleanup.policy`, `retention.ms`, ...).
    public var configs: [String: String]

    public init(name: String, partitions: Int, replicationFactor: Int, configs: [String: String]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}
