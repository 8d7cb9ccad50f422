import CRdKafka

extension KafkaAdmin {
    /// The consumer groups the brokers know (ListGroups, through `rd_kafka_ListConsumerGroups`),
    /// including groups that only store offsets and have no members.
    ///
    /// Throws a ``KafkaError`` with code ``KafkaErrorCode/unsupportedFeature`` when no broker
    /// implements ListGroups (librdkafka's mock cluster, for example): callers then discover
    /// groups some other way.
    public func listConsumerGroups(timeout: Duration = defaultTimeout) async throws -> [String] {
        let handle = self.handle
        return try await KafkaBlockingCalls.run {
            let event = try AdminRequest.run(handle, kind: RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS, timeout: timeout, what: "list consumer groups") {
                rd_kafka_ListConsumerGroups(handle.pointer, $0, $1)
            }
            defer { rd_kafka_event_destroy(event) }
            guard let result = rd_kafka_event_ListConsumerGroups_result(event) else { return [] }
            var validCount = 0
            var groups: [String] = []
            if let valid = rd_kafka_ListConsumerGroups_result_valid(result, &validCount) {
                for index in 0..<validCount {
                    if let listing = valid[index] { groups.append(String(cString: rd_kafka_ConsumerGroupListing_group_id(listing))) }
                }
            }
            var errorCount = 0
            let errors = rd_kafka_ListConsumerGroups_result_errors(result, &errorCount)
            // Each broker answers for the groups it coordinates: with errors and no answer at all
            // the listing says nothing, so it is an error rather than an empty list.
            if groups.isEmpty, errorCount > 0, let errors, let first = errors[0] {
                throw KafkaError(
                    code: KafkaErrorCode(rd_kafka_error_code(first)),
                    message: "list consumer groups: \(String(cString: rd_kafka_error_string(first)))")
            }
            return groups.sorted()
        }
    }

    /// The offsets `group` committed (the next offset to read) for `partitions` of any topics.
    /// Partitions without a commit are absent.
    ///
    /// Goes through a short-lived consumer handle of the group (it never joins the group), not
    /// the admin API's ListConsumerGroupOffsets: librdkafka 2.0.2 crashes when that request meets
    /// a retriable coordinator error (COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR), as happens
    /// while a broker restarts.
    public func groupOffsets(group: String, partitions: [KafkaTopicPartition], timeout: Duration = defaultTimeout) async throws
        -> [KafkaTopicPartitionKey: Int64]
    {
        guard !partitions.isEmpty else { return [:] }
        var groupConfiguration = configuration
        groupConfiguration["group.id"] = group
        groupConfiguration["enable.auto.commit"] = "false"
        let consumerConfiguration = groupConfiguration
        return try await KafkaBlockingCalls.run {
            let consumer = try KafkaHandle(kind: .consumer, nativeConfiguration: consumerConfiguration.makeNative())
            defer { consumer.destroyBlocking() }
            let list = KafkaTopicPartitionList.make(partitions.map { KafkaTopicPartition(topic: $0.topic, partition: $0.partition) })
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let result = rd_kafka_committed(consumer.pointer, list, timeout.milliseconds)
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(result, "committed offsets of group \(group)") }
            if let error = KafkaTopicPartitionList.firstError(list) {
                throw KafkaError(code: error.code, message: "committed offsets of group \(group): \(error.message)")
            }
            var committed: [KafkaTopicPartitionKey: Int64] = [:]
            for entry in KafkaTopicPartitionList.read(list) {
                if case .exact(let offset) = entry.offset, offset >= 0 {
                    committed[KafkaTopicPartitionKey(topic: entry.topic, partition: entry.partition)] = offset
                }
            }
            return committed
        }
    }
}

/// A topic partition without an offset, for dictionaries keyed by partition.
public struct KafkaTopicPartitionKey: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }

    public var description: String { "\(topic)[\(partition)]" }
}

/// Runs one request of librdkafka's event-based admin API and waits for its result event.
enum AdminRequest {
    /// Call from a ``KafkaBlockingCalls`` thread. The caller destroys the returned event.
    static func run(
        _ handle: KafkaHandle, kind: rd_kafka_admin_op_t, timeout: Duration, what: String,
        _ send: (OpaquePointer?, OpaquePointer?) -> Void
    ) throws -> OpaquePointer {
        var errorBuffer = [CChar](repeating: 0, count: 512)
        let queue = rd_kafka_queue_new(handle.pointer)
        defer { rd_kafka_queue_destroy(queue) }
        let options = rd_kafka_AdminOptions_new(handle.pointer, kind)
        defer { rd_kafka_AdminOptions_destroy(options) }
        _ = rd_kafka_AdminOptions_set_request_timeout(options, timeout.milliseconds, &errorBuffer, errorBuffer.count)
        send(options, queue)
        guard let event = rd_kafka_queue_poll(queue, timeout.milliseconds + 1000) else {
            throw KafkaError(code: .timedOut, message: "\(what): no answer within \(timeout)")
        }
        let eventError = rd_kafka_event_error(event)
        guard eventError == RD_KAFKA_RESP_ERR_NO_ERROR else {
            let message = String(cString: rd_kafka_event_error_string(event))
            rd_kafka_event_destroy(event)
            throw KafkaError(eventError, "\(what): \(message)")
        }
        return event
    }
}
