import ChatDomain
import Kafka

extension ChatTopicLayout {
    /// Creates the topics on an embedded cluster (its brokers do not implement CreateTopics).
    public func create(on cluster: EmbeddedKafkaCluster) throws {
        for topic in topics {
            try cluster.createTopic(topic.name, partitions: topic.partitions, replicationFactor: topic.replicationFactor)
        }
    }
}
