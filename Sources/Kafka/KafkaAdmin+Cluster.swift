import CRdKafka

extension KafkaAdmin {
    /// Brokers, controller and every topic with its partitions' leaders and replicas.
    ///
    /// Asks for all topics, never for one by name: a Metadata request naming a missing topic makes
    /// clusters that allow auto-creation (the embedded one does) create it with default settings.
    public func clusterMetadata(timeout: Duration = defaultTimeout) async throws -> KafkaClusterMetadata {
        let handle = self.handle
        let servers = configuration.bootstrapServers
        return try await KafkaBlockingCalls.run {
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let result = rd_kafka_metadata(handle.pointer, 1, nil, &metadata, timeout.milliseconds)
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
                throw KafkaError(result, "cannot read cluster metadata from \(servers)")
            }
            defer { rd_kafka_metadata_destroy(metadata) }
            let brokers = (0..<Int(metadata.pointee.broker_cnt)).map { metadata.pointee.brokers[$0].id }
            var topics: [String: KafkaTopicMetadata] = [:]
            for topicIndex in 0..<Int(metadata.pointee.topic_cnt) {
                let topic = metadata.pointee.topics[topicIndex]
                let name = String(cString: topic.topic)
                guard topic.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
                let partitions = (0..<Int(topic.partition_cnt)).map { index in
                    let partition = topic.partitions[index]
                    return KafkaPartitionMetadata(
                        id: partition.id,
                        leader: partition.leader,
                        replicas: (0..<Int(partition.replica_cnt)).map { partition.replicas[$0] },
                        inSyncReplicas: (0..<Int(partition.isr_cnt)).map { partition.isrs[$0] },
                        error: partition.err == RD_KAFKA_RESP_ERR_NO_ERROR ? nil : KafkaErrorCode(partition.err))
                }
                topics[name] = KafkaTopicMetadata(name: name, partitions: partitions.sorted { $0.id < $1.id })
            }
            // Already known from the Metadata answer above, so this does not wait.
            let controller = rd_kafka_controllerid(handle.pointer, 0)
            return KafkaClusterMetadata(brokers: brokers.sorted(), controller: brokers.contains(controller) ? controller : nil, topics: topics)
        }
    }

    /// The explicitly set and default configuration of topics (DescribeConfigs), by topic name.
    ///
    /// DescribeConfigs goes to the controller; a cluster whose metadata names no live controller
    /// (librdkafka's mock cluster) cannot answer it, and the call fails after `timeout`. Check
    /// ``KafkaClusterMetadata/controller`` first.
    public func describeTopicConfigs(_ topics: [String], timeout: Duration = defaultTimeout) async throws -> [String: [String: String]] {
        guard !topics.isEmpty else { return [:] }
        let handle = self.handle
        return try await KafkaBlockingCalls.run {
            var resources: [OpaquePointer?] = topics.map { rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, $0) }
            defer { for resource in resources { rd_kafka_ConfigResource_destroy(resource) } }
            let event = try AdminRequest.run(handle, kind: RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, timeout: timeout, what: "describe topic configs") {
                rd_kafka_DescribeConfigs(handle.pointer, &resources, resources.count, $0, $1)
            }
            defer { rd_kafka_event_destroy(event) }
            guard let result = rd_kafka_event_DescribeConfigs_result(event) else { return [:] }
            var count = 0
            guard let described = rd_kafka_DescribeConfigs_result_resources(result, &count) else { return [:] }
            var configs: [String: [String: String]] = [:]
            for index in 0..<count {
                guard let resource = described[index] else { continue }
                let name = String(cString: rd_kafka_ConfigResource_name(resource))
                let error = rd_kafka_ConfigResource_error(resource)
                guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    let reason = rd_kafka_ConfigResource_error_string(resource).map { String(cString: $0) } ?? ""
                    throw KafkaError(error, "configuration of topic \(name): \(reason)")
                }
                var entries: [String: String] = [:]
                var entryCount = 0
                if let list = rd_kafka_ConfigResource_configs(resource, &entryCount) {
                    for entryIndex in 0..<entryCount {
                        guard let entry = list[entryIndex], let value = rd_kafka_ConfigEntry_value(entry) else { continue }
                        entries[String(cString: rd_kafka_ConfigEntry_name(entry))] = String(cString: value)
                    }
                }
                configs[name] = entries
            }
            return configs
        }
    }
}

/// What a Metadata request says about the cluster.
public struct KafkaClusterMetadata: Sendable {
    /// Ids of the brokers that are up.
    public var brokers: [Int32]
    /// The broker that answers controller requests (CreateTopics, DescribeConfigs), when it is one
    /// of `brokers`.
    public var controller: Int32?
    public var topics: [String: KafkaTopicMetadata]

    public init(brokers: [Int32], controller: Int32?, topics: [String: KafkaTopicMetadata]) {
        self.brokers = brokers
        self.controller = controller
        self.topics = topics
    }
}

/// A topic's partitions as the cluster metadata describes them.
public struct KafkaTopicMetadata: Sendable, Hashable {
    public var name: String
    /// Sorted by partition id.
    public var partitions: [KafkaPartitionMetadata]

    public init(name: String, partitions: [KafkaPartitionMetadata]) {
        self.name = name
        self.partitions = partitions
    }

    /// The smallest replica count of its partitions (a partition that lost replicas shows here).
    public var replicationFactor: Int { partitions.map(\.replicas.count).min() ?? 0 }
}

/// One partition's leader and replicas.
public struct KafkaPartitionMetadata: Sendable, Hashable {
    public var id: Int32
    /// `-1` when the partition has no leader.
    public var leader: Int32
    public var replicas: [Int32]
    public var inSyncReplicas: [Int32]
    public var error: KafkaErrorCode?

    public init(id: Int32, leader: Int32, replicas: [Int32], inSyncReplicas: [Int32], error: KafkaErrorCode?) {
        self.id = id
        self.leader = leader
        self.replicas = replicas
        self.inSyncReplicas = inSyncReplicas
        self.error = error
    }
}
