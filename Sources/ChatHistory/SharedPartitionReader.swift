import Kafka

/// The long-lived reader history pages and author lookups of a node share: a
/// ``KafkaPartitionReader`` (the name the composition root knows it by).
public typealias SharedPartitionReader = KafkaPartitionReader
