import CRdKafka
import Logging
import NIOConcurrencyHelpers

/// The client and the queue the poll thread waits on: valid together, destroyed together.
struct ConsumerClient: @unchecked Sendable {
    let handle: KafkaHandle
    /// The consumer queue `rd_kafka_consumer_poll` serves: `rd_kafka_queue_yield` on it wakes the poll thread.
    let queue: OpaquePointer
}

/// The consumer's state shared between Swift tasks and its poll thread.
///
/// The lifecycle is ``ConsumerStateMachine``, kept in `machine`'s lock. The poll thread gets the
/// client once, when it starts, and is the only one to poll, close and destroy it. Other threads
/// reach the client only through the machine: the queue is yielded while the lock is held (the
/// poll thread moves the machine past `closing` under that lock before it destroys the queue), and
/// the handle is borrowed and handed back for calls made off the poll thread.
final class ConsumerCore: KafkaCallbackTarget, @unchecked Sendable {
    typealias Machine = ConsumerStateMachine<ConsumerClient, CheckedContinuation<Void, Never>>

    let logger: Logger
    let logSink: KafkaLogSink
    let buffer: KafkaRecordBuffer
    let rebalances: AsyncStream<KafkaRebalance>
    private let rebalanceContinuation: AsyncStream<KafkaRebalance>.Continuation
    /// A pthread lock rather than `Mutex`: ThreadSanitizer sees pthread locks, and does not see
    /// `Mutex`'s on Linux (it reports every access under one as a race), so tools/test-tsan.sh can
    /// check the cores.
    private let machine = NIOLockedValueBox(Machine())
    /// Poll thread only.
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
        let client = ConsumerClient(handle: handle, queue: rd_kafka_queue_get_consumer(handle.pointer))
        machine.withLockedValue { $0.start(client) }
        KafkaThread.start(name: "kafka-consumer-poll") { self.pollLoop(client) }
    }

    /// Runs `body` on the poll thread with the native handle and returns its result.
    func perform<Result: Sendable>(_ name: String, _ body: @escaping @Sendable (OpaquePointer) throws -> Result) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            let command: Machine.Command = { client in
                guard let client else { return continuation.resume(throwing: KafkaError.closed("consumer")) }
                continuation.resume(with: Swift.Result { try body(client.handle.pointer) })
            }
            let refused = machine.withLockedValue { machine -> Machine.Command? in
                switch machine.submit(command) {
                case .wake(let client):
                    rd_kafka_queue_yield(client.queue)
                    return nil
                case .refuse(let command):
                    return command
                }
            }
            refused?(nil)
        }
    }

    /// Runs `body` with the handle on the calling thread, or returns nil once the consumer is
    /// closed. The handle stays alive until `body` returns, even if the consumer closes meanwhile.
    func withBorrowedHandle<Result>(_ body: (KafkaHandle) throws -> Result) rethrows -> Result? {
        guard let client = machine.withLockedValue({ $0.borrowClient() }) else { return nil }
        defer {
            if let destroy = machine.withLockedValue({ $0.returnClient() }) {
                // rd_kafka_destroy blocks: never on the caller's thread, which may be a cooperative one.
                KafkaThread.start(name: "kafka-consumer-destroy") { self.destroy(destroy) }
            }
        }
        return try body(client.handle)
    }

    private func runCommands(_ client: ConsumerClient) -> Bool {
        switch machine.withLockedValue({ $0.nextCommands() }) {
        case .run(let commands):
            for command in commands { command(client) }
            return true
        case .stop:
            return false
        }
    }

    private func pollLoop(_ client: ConsumerClient) {
        let pointer = client.handle.pointer
        var batch: [KafkaRecord] = []
        batch.reserveCapacity(512)
        pollLoop: while runCommands(client) {
            var message = rd_kafka_consumer_poll(pointer, 50)
            while let current = message {
                if let record = read(current) { batch.append(record) }
                rd_kafka_message_destroy(current)
                if batch.count >= 512 { break }
                message = rd_kafka_consumer_poll(pointer, 0)
            }
            guard !batch.isEmpty else { continue }
            pushing: while true {
                switch buffer.push(batch, waitingUpTo: 0.05) {
                case .pushed: break pushing
                case .closed: break pollLoop
                case .full:
                    // Keep serving commands (seek, pause, close) while the reader is behind.
                    let polledIn = generation
                    guard runCommands(client) else { break pollLoop }
                    if generation != polledIn { break pushing }
                }
            }
            batch.removeAll(keepingCapacity: true)
        }
        // Leaves the group (revoking through the rebalance callback) before the handle goes away.
        rd_kafka_consumer_close(pointer)
        let (failing, destroy) = machine.withLockedValue { $0.pollLoopFinished() }
        for command in failing { command(nil) }
        if let destroy { self.destroy(destroy) }
    }

    /// Destroys the client, by whoever used it last (the poll thread, or a thread of its own).
    private func destroy(_ destroy: Machine.Destroy) {
        rd_kafka_queue_destroy(destroy.client.queue)
        destroy.client.handle.destroyBlocking()
        buffer.finish()
        rebalanceContinuation.finish()
        for waiter in destroy.waiters { waiter.resume() }
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

    /// On the poll thread, inside `rd_kafka_consumer_poll` or `rd_kafka_consumer_close`, with the client they were called on.
    func handleRebalance(_ handle: OpaquePointer, _ error: rd_kafka_resp_err_t, partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?) {
        let cooperative = String(cString: rd_kafka_rebalance_protocol(handle)) == "COOPERATIVE"
        let list = partitions.map(KafkaTopicPartitionList.read) ?? []
        if error == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS {
            if cooperative {
                if let failure = rd_kafka_incremental_assign(handle, partitions) {
                    logger.error("incremental assign failed", metadata: ["error": "\(KafkaError.consume(failure, "rebalance"))"])
                }
            } else {
                rd_kafka_assign(handle, partitions)
            }
            rebalanceContinuation.yield(.assigned(list))
        } else {
            if cooperative {
                if let failure = rd_kafka_incremental_unassign(handle, partitions) {
                    logger.error("incremental unassign failed", metadata: ["error": "\(KafkaError.consume(failure, "rebalance"))"])
                }
            } else {
                rd_kafka_assign(handle, nil)
            }
            rebalanceContinuation.yield(.revoked(list))
        }
    }

    /// Closes without waiting (a fatal error, seen on the poll thread).
    func requestClose() {
        let failing = machine.withLockedValue { machine -> [Machine.Command] in
            guard case .wake(let client, let failing) = machine.requestClose() else { return [] }
            rd_kafka_queue_yield(client.queue)
            return failing
        }
        for command in failing { command(nil) }
    }

    func close() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let (failing, resume) = machine.withLockedValue { machine -> ([Machine.Command], CheckedContinuation<Void, Never>?) in
                switch machine.close(continuation) {
                case .wake(let client, let failing):
                    rd_kafka_queue_yield(client.queue)
                    return (failing, nil)
                case .resume(let waiter):
                    return ([], waiter)
                case .wait:
                    return ([], nil)
                }
            }
            for command in failing { command(nil) }
            resume?.resume()
        }
    }

    func handleError(_ code: rd_kafka_resp_err_t, reason: String) {
        logger.debug("consumer error", metadata: ["error": "\(KafkaErrorCode(code).name)", "reason": "\(reason)"])
    }
}

let consumerRebalanceCallback:
    @convention(c) (
        OpaquePointer?, rd_kafka_resp_err_t, UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?, UnsafeMutableRawPointer?
    ) -> Void = { handle, error, partitions, opaque in
        guard let handle, let opaque else { return }
        let core = Unmanaged<AnyObject>.fromOpaque(opaque).takeUnretainedValue() as! ConsumerCore
        core.handleRebalance(handle, error, partitions: partitions)
    }

let consumerErrorCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void = {
    _, code, reason, opaque in
    guard let opaque else { return }
    let core = Unmanaged<AnyObject>.fromOpaque(opaque).takeUnretainedValue() as! ConsumerCore
    core.handleError(rd_kafka_resp_err_t(rawValue: code), reason: reason.map { String(cString: $0) } ?? "")
}
