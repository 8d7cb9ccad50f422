import CRdKafka
import Logging

/// Cluster metadata, watermarks, committed offsets and topic creation.
///
/// Every call that waits for a broker runs on ``KafkaBlockingCalls``'s threads.
public final class KafkaAdmin: Sendable {
    let handle: KafkaHandle
    let configuration: KafkaConfiguration
    private let core: AdminCallbacks

    /// Default wait for one broker round trip of an admin call.
    public static let defaultTimeout: Duration = .seconds(10)

    public init(configuration: KafkaConfiguration, logger: Logger = Logger(label: "kafka.admin")) throws {
        self.configuration = configuration
        let nativeConfiguration = try configuration.makeNative()
        let core = AdminCallbacks(logSink: KafkaLogSink(logger: logger))
        rd_kafka_conf_set_opaque(nativeConfiguration, Unmanaged.passUnretained(core as AnyObject).toOpaque())
        rd_kafka_conf_set_log_cb(nativeConfiguration, kafkaLogCallback)
        self.core = core
        self.handle = try KafkaHandle(kind: .producer, nativeConfiguration: nativeConfiguration)
    }

    /// The cluster id reported by the brokers.
    public func clusterID(timeout: Duration = defaultTimeout) async throws -> String {
        let handle = self.handle
        return try await KafkaBlockingCalls.run {
            guard let id = rd_kafka_clusterid(handle.pointer, timeout.milliseconds) else {
                throw KafkaError(code: .timedOut, message: "cluster id not known within \(timeout): are the brokers reachable?")
            }
            defer { rd_kafka_mem_free(handle.pointer, id) }
            return String(cString: id)
        }
    }

    /// Number of partitions of `topic`, or `nil` when the topic does not exist.
    public func partitionCount(topic: String, timeout: Duration = defaultTimeout) async throws -> Int? {
        try await topics(timeout: timeout)[topic]
    }

    /// Every topic of the cluster with its partition count.
    public func topics(timeout: Duration = defaultTimeout) async throws -> [String: Int] {
        let handle = self.handle
        return try await KafkaBlockingCalls.run {
            var metadata: UnsafePointer<rd_kafka_metadata>?
            let result = rd_kafka_metadata(handle.pointer, 1, nil, &metadata, timeout.milliseconds)
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
                throw KafkaError(result, "cannot read cluster metadata from \(self.configuration.bootstrapServers)")
            }
            defer { rd_kafka_metadata_destroy(metadata) }
            var topics: [String: Int] = [:]
            for index in 0..<Int(metadata.pointee.topic_cnt) {
                let topic = metadata.pointee.topics[index]
                guard topic.err == RD_KAFKA_RESP_ERR_NO_ERROR else { continue }
                topics[String(cString: topic.topic)] = Int(topic.partition_cnt)
            }
            return topics
        }
    }

    /// The low and high watermarks of a partition, asked of its leader.
    public func watermarks(topic: String, partition: Int32, timeout: Duration = defaultTimeout) async throws -> KafkaWatermarks {
        let handle = self.handle
        return try await KafkaBlockingCalls.run {
            var low: Int64 = -1
            var high: Int64 = -1
            let result = rd_kafka_query_watermark_offsets(handle.pointer, topic, partition, &low, &high, timeout.milliseconds)
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(result, "watermarks of \(topic)[\(partition)]") }
            return KafkaWatermarks(low: low, high: high)
        }
    }

    /// The offsets committed by `group` (next offset to read), `nil` for partitions with no commit.
    public func committedOffsets(group: String, topic: String, partitions: [Int32], timeout: Duration = defaultTimeout) async throws
        -> [Int32: Int64]
    {
        var groupConfiguration = configuration
        groupConfiguration["group.id"] = group
        groupConfiguration["enable.auto.commit"] = "false"
        let consumerConfiguration = groupConfiguration
        return try await KafkaBlockingCalls.run {
            // rd_kafka_committed needs a consumer handle of the group; it never joins the group.
            let consumer = try KafkaHandle(kind: .consumer, nativeConfiguration: consumerConfiguration.makeNative())
            defer { consumer.destroyBlocking() }
            let list = KafkaTopicPartitionList.make(partitions.map { KafkaTopicPartition(topic: topic, partition: $0) })
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let result = rd_kafka_committed(consumer.pointer, list, timeout.milliseconds)
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(result, "committed offsets of group \(group)") }
            var offsets: [Int32: Int64] = [:]
            for entry in KafkaTopicPartitionList.read(list) {
                if case .exact(let offset) = entry.offset, offset >= 0 { offsets[entry.partition] = offset }
            }
            return offsets
        }
    }

    /// Creates topics with the admin API (a real cluster; the embedded one creates its own topics).
    /// Topics that already exist are left alone and reported in the result.
    public func createTopics(_ specifications: [KafkaTopicSpecification], timeout: Duration = defaultTimeout) async throws
        -> [String: KafkaErrorCode]
    {
        let handle = self.handle
        return try await KafkaBlockingCalls.run {
            var errorBuffer = [CChar](repeating: 0, count: 512)
            var newTopics: [OpaquePointer?] = []
            defer { for topic in newTopics { rd_kafka_NewTopic_destroy(topic) } }
            for specification in specifications {
                guard
                    let topic = rd_kafka_NewTopic_new(
                        specification.name, Int32(specification.partitions), Int32(specification.replicationFactor),
                        &errorBuffer, errorBuffer.count)
                else {
                    throw KafkaError.configuration("topic \(specification.name): \(String(nullTerminated: errorBuffer))")
                }
                for (key, value) in specification.configs.sorted(by: { $0.key < $1.key }) {
                    _ = rd_kafka_NewTopic_set_config(topic, key, value)
                }
                newTopics.append(topic)
            }
            let queue = rd_kafka_queue_new(handle.pointer)
            defer { rd_kafka_queue_destroy(queue) }
            let options = rd_kafka_AdminOptions_new(handle.pointer, RD_KAFKA_ADMIN_OP_CREATETOPICS)
            defer { rd_kafka_AdminOptions_destroy(options) }
            _ = rd_kafka_AdminOptions_set_operation_timeout(options, timeout.milliseconds, &errorBuffer, errorBuffer.count)
            rd_kafka_CreateTopics(handle.pointer, &newTopics, newTopics.count, options, queue)
            guard let event = rd_kafka_queue_poll(queue, timeout.milliseconds + 1000) else {
                throw KafkaError(code: .timedOut, message: "create topics: no answer within \(timeout)")
            }
            defer { rd_kafka_event_destroy(event) }
            let eventError = rd_kafka_event_error(event)
            guard eventError == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError(eventError, "create topics: \(String(cString: rd_kafka_event_error_string(event)))")
            }
            guard let result = rd_kafka_event_CreateTopics_result(event) else { return [:] }
            var count = 0
            guard let results = rd_kafka_CreateTopics_result_topics(result, &count) else { return [:] }
            var outcome: [String: KafkaErrorCode] = [:]
            for index in 0..<count {
                let topicResult = results[index]
                outcome[String(cString: rd_kafka_topic_result_name(topicResult))] = KafkaErrorCode(rd_kafka_topic_result_error(topicResult))
            }
            return outcome
        }
    }

    /// Releases the client.
    public func close() async {
        let handle = self.handle
        _ = try? await KafkaBlockingCalls.run { handle.destroyBlocking() }
    }
}

/// A topic to create.
public struct KafkaTopicSpecification: Sendable, Hashable {
    public var name: String
    public var partitions: Int
    public var replicationFactor: Int
    /// Topic-level configuration (`cleanup.policy`, `retention.ms`, `min.insync.replicas`, ...).
    public var configs: [String: String]

    public init(name: String, partitions: Int, replicationFactor: Int, configs: [String: String] = [:]) {
        self.name = name
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}

final class AdminCallbacks: KafkaCallbackTarget, Sendable {
    let logSink: KafkaLogSink
    init(logSink: KafkaLogSink) { self.logSink = logSink }
}

extension Duration {
    /// Whole milliseconds, as librdkafka's timeouts take them.
    var milliseconds: Int32 {
        let components = self.components
        return Int32(clamping: components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000)
    }
}
