import CRdKafka
import Logging
import Synchronization

/// The consumer's state shared between Swift tasks and its poll thread.
final class ConsumerCore: KafkaCallbackTarget, @unchecked Sendable {
    typealias Command = (OpaquePointer?) -> Void

    private struct State {
        var commands: [Command] = []
        var closing = false
        var closed = false
        var closeWaiters: [CheckedContinuation<Void, Never>] = []
    }

    let logger: Logger
    let logSink: KafkaLogSink
    let buffer: KafkaRecordBuffer
    let rebalances: AsyncStream<KafkaRebalance>
    private let rebalanceContinuation: AsyncStream<KafkaRebalance>.Continuation
    private let state = Mutex(State())
    private(set) var handle: KafkaHandle!
    private var consumerQueue: OpaquePointer?
    private var topicNames: [UnsafeRawPointer: String] = [:]
    /// Bumped on the poll thread when fetched records are discarded; a batch polled before is dropped.
    private var generation = 0

    init(logger: Logger, bufferCapacity: Int) {
        self.logger = logger
        self.logSink = KafkaLogSink(logger: logger)
        self.buffer = KafkaRecordBuffer(capacity: bufferCapacity)
        (rebalances, rebalanceContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1024))
    }

    func start(handle: KafkaHandle) {
        self.handle = handle
        self.consumerQueue = rd_kafka_queue_get_consumer(handle.pointer)
        KafkaThread.start(name: "kafka-consumer-poll") { self.pollLoop() }
    }

    /// Runs `body` on the poll thread with the native handle and returns its result.
    func perform<Result: Sendable>(_ name: String, _ body: @escaping @Sendable (OpaquePointer) throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            let accepted = state.withLock { state in
                guard !state.closing else { return false }
                state.commands.append { handle in
                    guard let handle else { return continuation.resume(throwing: KafkaError.closed("consumer")) }
                    continuation.resume(with: Swift.Result { try body(handle) })
                }
                return true
            }
            if accepted {
                wakePoll()
            } else {
                continuation.resume(throwing: KafkaError.closed("consumer"))
            }
        }
    }

    private func wakePoll() {
        if let consumerQueue { rd_kafka_queue_yield(consumerQueue) }
    }

    private func runCommands() {
        let commands = state.withLock { state in
            let commands = state.commands
            state.commands.removeAll()
            return commands
        }
        for command in commands { command(handle.pointer) }
    }

    private var isClosing: Bool { state.withLock { $0.closing } }

    private func pollLoop() {
        var batch: [KafkaRecord] = []
        batch.reserveCapacity(512)
        pollLoop: while true {
            runCommands()
            if isClosing { break }
            var message = rd_kafka_consumer_poll(handle.pointer, 50)
            while let current = message {
                if let record = read(current) { batch.append(record) }
                rd_kafka_message_destroy(current)
                if batch.count >= 512 { break }
                message = rd_kafka_consumer_poll(handle.pointer, 0)
            }
            guard !batch.isEmpty else { continue }
            pushing: while true {
                switch buffer.push(batch, waitingUpTo: 0.05) {
                case .pushed: break pushing
                case .closed: break pollLoop
                case .full:
                    // Keep serving commands (seek, pause, close) while the reader is behind.
                    let polledIn = generation
                    runCommands()
                    if isClosing { break pollLoop }
                    if generation != polledIn { break pushing }
                }
            }
            batch.removeAll(keepingCapacity: true)
        }
        finishClosing()
    }

    /// On the poll thread: forgets the records fetched so far, buffered or in hand.
    func discardFetched() {
        generation += 1
        buffer.removeAll()
    }

    private func read(_ message: UnsafeMutablePointer<rd_kafka_message_t>) -> KafkaRecord? {
        let error = message.pointee.err
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            if error == RD_KAFKA_RESP_ERR__PARTITION_EOF { return nil }
            let kafkaError = KafkaError(error, "consumer")
            if error == RD_KAFKA_RESP_ERR__FATAL {
                logger.error("fatal consumer error", metadata: ["error": "\(kafkaError)"])
                buffer.finish(error: kafkaError)
                requestClose()
            } else {
                logger.debug("consumer error", metadata: ["error": "\(kafkaError)"])
            }
            return nil
        }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let timestamp = rd_kafka_message_timestamp(message, &timestampType)
        var headers: [KafkaHeader] = []
        var nativeHeaders: OpaquePointer?
        if rd_kafka_message_headers(message, &nativeHeaders) == RD_KAFKA_RESP_ERR_NO_ERROR, let nativeHeaders {
            var index = 0
            var name: UnsafePointer<CChar>?
            var value: UnsafeRawPointer?
            var size = 0
            while rd_kafka_header_get_all(nativeHeaders, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
                let bytes = value.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: size)) } ?? []
                headers.append(KafkaHeader(key: name.map { String(cString: $0) } ?? "", value: bytes))
                index += 1
            }
        }
        let key = message.pointee.key.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: message.pointee.key_len)) }
        let value = message.pointee.payload.map { [UInt8](UnsafeRawBufferPointer(start: $0, count: message.pointee.len)) } ?? []
        return KafkaRecord(
            topic: topicName(message.pointee.rkt),
            partition: message.pointee.partition,
            offset: message.pointee.offset,
            key: key,
            value: value,
            headers: headers,
            timestampMilliseconds: timestamp
        )
    }

    /// Topic handles live as long as the client, so their names are decoded once.
    private func topicName(_ topic: OpaquePointer?) -> String {
        guard let topic else { return "" }
        let address = UnsafeRawPointer(topic)
        if let name = topicNames[address] { return name }
        let name = String(cString: rd_kafka_topic_name(topic))
        topicNames[address] = name
        return name
    }

    func handleRebalance(_ error: rd_kafka_resp_err_t, partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) {
        guard let handle else { return }
        let cooperative = String(cString: rd_kafka_rebalance_protocol(handle.pointer)) == "COOPERATIVE"
        let list = partitions.map(KafkaTopicPartitionList.read) ?? []
        if error == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
            if cooperative {
                if let failure = rd_kafka_incremental_assign(handle.pointer, partitions) {
                    logger.error("incremental assign failed", metadata: ["error": "\(KafkaError.consume(failure, "rebalance"))"])
                }
            } else {
                rd_kafka_assign(handle.pointer, partitions)
            }
            rebalanceContinuation.yield(.assigned(list))
        } else {
            if cooperative {
                if let failure = rd_kafka_incremental_unassign(handle.pointer, partitions) {
                    logger.error("incremental unassign failed", metadata: ["error": "\(KafkaError.consume(failure, "rebalance"))"])
                }
            } else {
                rd_kafka_assign(handle.pointer, nil)
            }
            rebalanceContinuation.yield(.revoked(list))
        }
    }

    func requestClose() {
        state.withLock { $0.closing = true }
        wakePoll()
    }

    func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let alreadyClosed = state.withLock { state in
                if state.closed { return true }
                state.closing = true
                state.closeWaiters.append(continuation)
                return false
            }
            if alreadyClosed { continuation.resume() } else { wakePoll() }
        }
    }

    private func finishClosing() {
        // Leaves the group (revoking through the rebalance callback) before the handle goes away.
        rd_kafka_consumer_close(handle.pointer)
        let (commands, waiters) = state.withLock { state in
            state.closed = true
            let result = (state.commands, state.closeWaiters)
            state.commands.removeAll()
            state.closeWaiters.removeAll()
            return result
        }
        for command in commands { command(nil) }
        if let consumerQueue { rd_kafka_queue_destroy(consumerQueue) }
        consumerQueue = nil
        handle.destroyBlocking()
        buffer.finish()
        rebalanceContinuation.finish()
        for waiter in waiters { waiter.resume() }
    }

    func handleError(_ code: rd_kafka_resp_err_t, reason: String) {
        logger.debug("consumer error", metadata: ["error": "\(KafkaErrorCode(code).name)", "reason": "\(reason)"])
    }
}

let consumerRebalanceCallback: @convention(c) (
    OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, UnsafeMutableRawPointer?
) -> Void = { _, error, partitions, opaque in
    guard let opaque else { return }
    let core = Unmanaged<AnyObject>.fromOpaque(opaque).takeUnretainedValue() as! ConsumerCore
    core.handleRebalance(error, partitions: partitions)
}

let consumerErrorCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void = {
    _, code, reason, opaque in
    guard let opaque else { return }
    let core = Unmanaged<AnyObject>.fromOpaque(opaque).takeUnretainedValue() as! ConsumerCore
    core.handleError(rd_kafka_resp_err_t(rawValue: code), reason: reason.map { String(cString: $0) } ?? "")
}
