import ChatDomain
import Kafka

/// The topics of the system with their partition counts and configuration.
public struct ChatTopicLayout: Sendable {
    public var partitions: Int
    public var replicationFactor: Int

    public init(partitions: Int, replicationFactor: Int = 3) {
        self.partitions = partitions
        self.replicationFactor = replicationFactor
    }

    /// Creates the topics on an embedded cluster (its brokers do not implement CreateTopics).
    public func create(on cluster: EmbeddedKafkaCluster) throws {
        for topic in ChatTopics.all {
            try cluster.createTopic(topic, partitions: partitions, replicationFactor: replicationFactor)
        }
    }
}
