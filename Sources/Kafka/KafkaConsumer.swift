import CRdKafka
import Logging
import ServiceLifecycle

/// A Kafka consumer: group subscription with rebalancing, or manual (incremental) assignment.
///
/// One dedicated thread polls librdkafka and runs every operation on the handle (assign, seek,
/// pause, commit), so the cooperative thread pool never blocks on librdkafka. Records flow through
/// a bounded buffer into ``records``. The consumer is closed (`rd_kafka_consumer_close`) on every
/// exit path: ``close()``, the end of ``run()`` (graceful shutdown or cancellation), or a fatal error.
public final class KafkaConsumer: Sendable, Service {
    let core: ConsumerCore

    /// Properties the wrapper sets unless the configuration says otherwise.
    public static let defaultProperties: [String: String] = [
        "enable.auto.commit": "false",
        "enable.auto.offset.store": "false",
        "auto.offset.reset": "earliest",
        "enable.partition.eof": "false",
    ]

    /// - Parameters:
    ///   - bufferCapacity: records held between the poll thread and the reader before fetching pauses.
    public init(configuration: KafkaConfiguration, bufferCapacity: Int = 10_000, logger: Logger = Logger(label: "kafka.consumer")) throws {
        var configuration = configuration.withDefaults(Self.defaultProperties)
        if configuration["group.id"] == nil {
            // librdkafka needs a group id to create a consumer; an assign-only reader never joins it.
            configuration["group.id"] = "chat-reader-unused"
        }
        let nativeConfiguration = try configuration.makeNative()
        let core = ConsumerCore(logger: logger, bufferCapacity: bufferCapacity)
        rd_kafka_conf_set_opaque(nativeConfiguration, Unmanaged.passUnretained(core as AnyObject).toOpaque())
        rd_kafka_conf_set_rebalance_cb(nativeConfiguration, consumerRebalanceCallback)
        rd_kafka_conf_set_error_cb(nativeConfiguration, consumerErrorCallback)
        rd_kafka_conf_set_log_cb(nativeConfiguration, kafkaLogCallback)
        let handle = try KafkaHandle(kind: .consumer, nativeConfiguration: nativeConfiguration)
        rd_kafka_poll_set_consumer(handle.pointer)
        core.start(handle: handle)
        self.core = core
    }

    /// The fetched records. Iterate it from one task only.
    public var records: KafkaRecordSequence { KafkaRecordSequence(buffer: core.buffer) }

    /// The fetched records, in the batches they arrived in. Iterate it (or ``records``) from one task only.
    public var recordBatches: KafkaRecordBatchSequence { KafkaRecordBatchSequence(buffer: core.buffer) }

    /// Rebalance notifications of a group subscription (assigned / revoked partitions).
    public var rebalances: AsyncStream<KafkaRebalance> { core.rebalances }

    /// Joins the consumer group and subscribes to `topics`.
    public func subscribe(topics: [String]) async throws {
        try await core.perform("subscribe") { handle in
            let list = KafkaTopicPartitionList.make(topics.map { KafkaTopicPartition(topic: $0, partition: -1) })
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let result = rd_kafka_subscribe(handle, list)
            if result != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(result, "subscribe to \(topics)") }
        }
    }

    /// Replaces the whole assignment (no group rebalancing).
    public func assign(_ partitions: [KafkaTopicPartition]) async throws {
        try await core.perform("assign") { handle in
            let list = KafkaTopicPartitionList.make(partitions)
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let result = rd_kafka_assign(handle, list)
            if result != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(result, "assign") }
        }
    }

    /// Replaces the whole assignment and discards every record fetched before (buffered or about
    /// to be), so the next record read belongs to the new assignment: lets one long-lived reader
    /// serve range reads one after another. Start a new iteration of ``records`` afterwards.
    public func reassign(_ partitions: [KafkaTopicPartition]) async throws {
        let core = self.core
        try await core.perform("reassign") { handle in
            let list = KafkaTopicPartitionList.make(partitions)
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let result = rd_kafka_assign(handle, list)
            core.discardFetched()
            if result != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(result, "assign") }
        }
    }

    /// Adds partitions to the assignment, each starting at its given offset.
    public func incrementalAssign(_ partitions: [KafkaTopicPartition]) async throws {
        try await core.perform("incremental assign") { handle in
            let list = KafkaTopicPartitionList.make(partitions)
            defer { rd_kafka_topic_partition_list_destroy(list) }
            if let error = rd_kafka_incremental_assign(handle, list) { throw KafkaError.consume(error, "incremental assign") }
        }
    }

    /// Removes partitions from the assignment.
    public func incrementalUnassign(_ partitions: [KafkaTopicPartition]) async throws {
        try await core.perform("incremental unassign") { handle in
            let list = KafkaTopicPartitionList.make(partitions)
            defer { rd_kafka_topic_partition_list_destroy(list) }
            if let error = rd_kafka_incremental_unassign(handle, list) { throw KafkaError.consume(error, "incremental unassign") }
        }
    }

    /// The current assignment.
    public func assignment() async throws -> [KafkaTopicPartition] {
        try await core.perform("assignment") { handle in
            var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
            let result = rd_kafka_assignment(handle, &list)
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR, let list else { throw KafkaError(result, "assignment") }
            defer { rd_kafka_topic_partition_list_destroy(list) }
            return KafkaTopicPartitionList.read(list)
        }
    }

    /// Moves the fetch positions of assigned partitions. Records already buffered are still delivered.
    public func seek(_ partitions: [KafkaTopicPartition]) async throws {
        try await core.perform("seek") { handle in
            let list = KafkaTopicPartitionList.make(partitions)
            defer { rd_kafka_topic_partition_list_destroy(list) }
            if let error = rd_kafka_seek_partitions(handle, list, 0) { throw KafkaError.consume(error, "seek") }
            // Without a timeout the seek is asynchronous: `_IN_PROGRESS` on a partition means it started.
            if let error = KafkaTopicPartitionList.firstError(list, ignoring: [RD_KAFKA_RESP_ERR__IN_PROGRESS]) { throw error }
        }
    }

    /// Stops fetching the partitions until ``resume(_:)``.
    public func pause(_ partitions: [KafkaTopicPartition]) async throws {
        try await core.perform("pause") { handle in
            let list = KafkaTopicPartitionList.make(partitions)
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let result = rd_kafka_pause_partitions(handle, list)
            if result != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(result, "pause") }
        }
    }

    public func resume(_ partitions: [KafkaTopicPartition]) async throws {
        try await core.perform("resume") { handle in
            let list = KafkaTopicPartitionList.make(partitions)
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let result = rd_kafka_resume_partitions(handle, list)
            if result != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(result, "resume") }
        }
    }

    /// Commits offsets to the group (each offset is the next one to read).
    /// - Parameter waitForBroker: when false the commit is sent without waiting for its result.
    public func commit(_ offsets: [KafkaTopicPartition], waitForBroker: Bool = true) async throws {
        guard !offsets.isEmpty else { return }
        if waitForBroker {
            // A synchronous commit waits for the broker: run it on the blocking pool, not the poll thread.
            let core = self.core
            try await KafkaBlockingCalls.run {
                // Borrowed for the call: a close meanwhile destroys the client only after it.
                let committed: Void? = try core.withBorrowedHandle { handle in
                    let list = KafkaTopicPartitionList.make(offsets)
                    defer { rd_kafka_topic_partition_list_destroy(list) }
                    let result = rd_kafka_commit(handle.pointer, list, 0)
                    if result != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(result, "commit") }
                    if let error = KafkaTopicPartitionList.firstError(list) { throw error }
                }
                if committed == nil { throw KafkaError.closed("consumer") }
            }
        } else {
            try await core.perform("commit") { handle in
                let list = KafkaTopicPartitionList.make(offsets)
                defer { rd_kafka_topic_partition_list_destroy(list) }
                let result = rd_kafka_commit(handle, list, 1)
                if result != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(result, "commit") }
            }
        }
    }

    /// Stores offsets for the next automatic or explicit commit.
    public func storeOffsets(_ offsets: [KafkaTopicPartition]) async throws {
        try await core.perform("store offsets") { handle in
            let list = KafkaTopicPartitionList.make(offsets)
            defer { rd_kafka_topic_partition_list_destroy(list) }
            let result = rd_kafka_offsets_store(handle, list)
            if result != RD_KAFKA_RESP_ERR_NO_ERROR { throw KafkaError(result, "store offsets") }
        }
    }

    /// The locally cached watermarks of an assigned partition (updated with every fetch; no broker call).
    public func cachedWatermarks(topic: String, partition: Int32) -> KafkaWatermarks? {
        // Nil once the consumer is closed: the handle is borrowed, never used after it is destroyed.
        core.withBorrowedHandle { handle -> KafkaWatermarks? in
            var low: Int64 = -1
            var high: Int64 = -1
            let result = rd_kafka_get_watermark_offsets(handle.pointer, topic, partition, &low, &high)
            guard result == RD_KAFKA_RESP_ERR_NO_ERROR, high >= 0 else { return nil }
            return KafkaWatermarks(low: low, high: high)
        } ?? nil
    }

    /// Leaves the group, stops polling and releases the client. Safe to call more than once.
    public func close() async {
        await core.close()
    }

    /// Runs until graceful shutdown or cancellation, then closes the consumer.
    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }
}

/// A change of a group consumer's assignment.
public enum KafkaRebalance: Sendable {
    case assigned([KafkaTopicPartition])
    case revoked([KafkaTopicPartition])
}

extension KafkaError {
    static func consume(_ error: OpaquePointer, _ context: String) -> KafkaError {
        defer { rd_kafka_error_destroy(error) }
        return KafkaError(
            code: KafkaErrorCode(rd_kafka_error_code(error)),
            message: "\(context): \(String(cString: rd_kafka_error_string(error)))",
            isRetriable: rd_kafka_error_is_retriable(error) != 0,
            isFatal: rd_kafka_error_is_fatal(error) != 0
        )
    }
}
