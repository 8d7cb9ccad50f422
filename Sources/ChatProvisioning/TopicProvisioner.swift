import ChatDomain
import Kafka

/// Reads the chat topics from the cluster and creates missing ones: the I/O of `chatctl topics apply`.
public struct TopicProvisioner: Sendable {
    public let admin: KafkaAdmin
    public var timeout: Duration

    public init(admin: KafkaAdmin, timeout: Duration = .seconds(10)) {
        self.admin = admin
        self.timeout = timeout
    }

    /// What the cluster has of `layout`'s topics.
    public func observe(_ layout: ChatTopicLayout) async throws -> Observation {
        let metadata = try await admin.clusterMetadata(timeout: timeout)
        let existing = layout.topics.map(\.name).filter { metadata.topics[$0] != nil }
        var configs: [String: [String: String]] = [:]
        var configNote: String?
        if existing.isEmpty {
            configNote = nil
        } else if metadata.controller == nil {
            configNote =
                "topic configurations not verified: the cluster names no live controller to answer DescribeConfigs "
                + "(librdkafka's mock cluster, used by chatctl kafka and the tests, does not implement it)"
        } else {
            do {
                configs = try await admin.describeTopicConfigs(existing, timeout: timeout)
            } catch {
                configNote = "topic configurations not verified: DescribeConfigs failed (\(error))"
            }
        }
        var observed: [String: ObservedTopic] = [:]
        for name in existing {
            let topic = metadata.topics[name]!
            observed[name] = ObservedTopic(
                partitions: topic.partitions.count, replicationFactor: topic.replicationFactor, configs: configNote == nil ? configs[name] : nil)
        }
        return Observation(
            topics: observed, configsVerified: configNote == nil, configNote: configNote, canCreate: metadata.controller != nil,
            brokers: metadata.brokers.count)
    }

    /// Creates topics; a topic that appeared meanwhile (another `topics apply`, the Strimzi topic
    /// operator) counts as created. Throws when the cluster cannot create topics at all.
    public func create(_ topics: [ChatTopicSpecification], observation: Observation) async throws -> [String: KafkaErrorCode] {
        guard !topics.isEmpty else { return [:] }
        guard observation.canCreate else {
            throw ProvisioningError(
                message: """
                    the cluster names no live controller, so it cannot answer CreateTopics (librdkafka's mock cluster does not \
                    implement it). On chatctl kafka, create the topics with its stdin command `create <topic> <partitions>` \
                    (or start it without --no-topics); on a real cluster, check that the brokers elected a controller.
                    """)
        }
        let result = try await admin.createTopics(
            topics.map {
                KafkaTopicSpecification(name: $0.name, partitions: $0.partitions, replicationFactor: $0.replicationFactor, configs: $0.configs)
            },
            timeout: timeout)
        return result.mapValues { $0 == .topicAlreadyExists ? .noError : $0 }
    }

    /// The cluster as ``observe(_:)`` saw it.
    public struct Observation: Sendable {
        public var topics: [String: ObservedTopic]
        public var configsVerified: Bool
        /// Why configurations were not compared.
        public var configNote: String?
        /// Whether CreateTopics can work (a live controller is known).
        public var canCreate: Bool
        public var brokers: Int
    }
}

/// A provisioning failure with what to do about it.
public struct ProvisioningError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
