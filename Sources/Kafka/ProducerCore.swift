import CKafkaShim
import CRdKafka
import Logging
import Synchronization

/// The producer's state shared between Swift tasks and its poll thread.
final class ProducerCore: KafkaCallbackTarget, @unchecked Sendable {
    struct DeliveryReport {
        var id: UInt64
        var error: rd_kafka_resp_err_t
        var partition: Int32
        var offset: Int64
    }

    private struct State {
        var nextID: UInt64 = 1
        var pending: [UInt64: DeliveryWaiter] = [:]
        var nextBatch: UInt64 = 1
        var batches: [UInt64: DeliveryBatch] = [:]
        var closing = false
        var closed = false
        var closeWaiters: [CheckedContinuation<Void, Never>] = []
        var flushTimeout: Duration = .seconds(10)
    }

    let logger: Logger
    let logSink: KafkaLogSink
    private let state = Mutex(State())
    private var handle: KafkaHandle!
    /// The client, for one-shot calls made on ``KafkaBlockingCalls`` (metadata).
    var clientHandle: KafkaHandle { handle }
    /// Filled by the delivery callback and drained right after, both on the poll thread only.
    var reports: [DeliveryReport] = []

    init(logger: Logger) {
        self.logger = logger
        self.logSink = KafkaLogSink(logger: logger)
    }

    private let inFlight = Atomic<Int>(0)
    var pendingCount: Int { inFlight.load(ordering: .relaxed) }

    static let batchBit: UInt64 = 1 << 63
    static func batchOpaque(_ number: UInt64, _ index: Int) -> UInt64 { batchBit | (number << 24) | UInt64(index) }

    /// Registers a batch once; its records are then enqueued without taking the lock.
    func registerBatch(_ batch: DeliveryBatch, count: Int) -> UInt64? {
        let number: UInt64? = state.withLock { state in
            if state.closing { return nil }
            let number = state.nextBatch
            state.nextBatch += 1
            state.batches[number] = batch
            return number
        }
        if number != nil { inFlight.add(count, ordering: .relaxed) }
        return number
    }

    /// Enqueues one record of a registered batch; lock-free.
    func enqueueBatchRecord(_ record: KafkaProducerRecord, number: UInt64, index: Int) -> rd_kafka_resp_err_t {
        Self.enqueue(record, id: Self.batchOpaque(number, index), handle: handle.pointer)
    }

    func batchRecordFailed(_ batch: DeliveryBatch, number: UInt64, index: Int, _ error: KafkaError) {
        inFlight.subtract(1, ordering: .relaxed)
        if batch.completeMany([(index, .failure(error))]) { state.withLock { _ = $0.batches.removeValue(forKey: number) } }
    }

    func start(handle: KafkaHandle) {
        self.handle = handle
        KafkaThread.start(name: "kafka-producer-poll") { self.pollLoop() }
    }

    /// Registers the waiter and enqueues the record. Returns false, leaving the waiter unresolved,
    /// only when the local queue is full and the caller should retry; every other outcome resolves it.
    @discardableResult
    func produce(_ record: KafkaProducerRecord, waiter: DeliveryWaiter) -> Bool {
        let id: UInt64? = state.withLock { state in
            if state.closing { return nil }
            let id = state.nextID
            state.nextID += 1
            state.pending[id] = waiter
            return id
        }
        guard let id else {
            waiter.resolve(.failure(.closed("producer")))
            return true
        }
        inFlight.add(1, ordering: .relaxed)
        let outcome = Self.enqueue(record, id: id, handle: handle.pointer)
        if outcome == RD_KAFKA_RESP_ERR_NO_ERROR { return true }
        state.withLock { _ = $0.pending.removeValue(forKey: id) }
        inFlight.subtract(1, ordering: .relaxed)
        let error = KafkaError(outcome, "cannot produce to \(record.topic)[\(record.partition)]")
        if error.code == .queueFull, case .batch = waiter { return false }
        waiter.resolve(.failure(error))
        return true
    }

    private static func enqueue(_ record: KafkaProducerRecord, id: UInt64, handle: OpaquePointer) -> rd_kafka_resp_err_t {
        var headers: OpaquePointer? = nil
        if !record.headers.isEmpty {
            headers = rd_kafka_headers_new(record.headers.count)
            for header in record.headers {
                header.value.withUnsafeBytes { bytes in
                    _ = rd_kafka_header_add(headers, header.key, -1, bytes.baseAddress, bytes.count)
                }
            }
        }
        let opaque = UnsafeMutableRawPointer(bitPattern: UInt(id))
        let timestamp = record.timestampMilliseconds ?? 0
        let result = record.topic.withCString { topic in
            record.value.withUnsafeBytes { value in
                if let key = record.key {
                    return key.withUnsafeBytes { keyBytes in
                        chat_kafka_produce(
                            handle, topic, record.partition, keyBytes.baseAddress, keyBytes.count,
                            value.baseAddress, value.count, headers, timestamp, opaque)
                    }
                }
                return chat_kafka_produce(
                    handle, topic, record.partition, nil, 0, value.baseAddress, value.count, headers,
                    timestamp, opaque)
            }
        }
        if result != RD_KAFKA_RESP_ERR_NO_ERROR, let headers { rd_kafka_headers_destroy(headers) }
        return result
    }

    private func pollLoop() {
        while !state.withLock({ $0.closing }) {
            rd_kafka_poll(handle.pointer, 100)
            deliverReports()
        }
        let flushTimeout = state.withLock { $0.flushTimeout }
        let flushMilliseconds = Int32(flushTimeout.components.seconds * 1000 + flushTimeout.components.attoseconds / 1_000_000_000_000_000)
        let flushResult = rd_kafka_flush(handle.pointer, flushMilliseconds)
        deliverReports()
        if flushResult != RD_KAFKA_RESP_ERR_NO_ERROR {
            logger.warning("producer closed with records still in flight", metadata: ["count": "\(pendingCount)"])
        }
        let (leftovers, waiters) = state.withLock { state in
            state.closed = true
            let result = (Array(state.pending.values), state.closeWaiters)
            for batch in state.batches.values { batch.failRemaining(KafkaError(code: .destroyed, message: "producer closed before delivery", isRetriable: true)) }
            state.batches.removeAll()
            state.pending.removeAll()
            state.closeWaiters.removeAll()
            return result
        }
        for waiter in leftovers {
            waiter.resolve(.failure(KafkaError(code: .destroyed, message: "producer closed before delivery", isRetriable: true)))
        }
        handle.destroyBlocking()
        for waiter in waiters { waiter.resume() }
    }

    private var cachedBatchNumber: UInt64 = 0
    private var cachedBatch: DeliveryBatch?

    private func deliverReports() {
        guard !reports.isEmpty else { return }
        let batch = reports
        reports.removeAll(keepingCapacity: true)
        inFlight.subtract(batch.count, ordering: .relaxed)
        var singles: [DeliveryReport] = []
        var group: [(Int, Result<KafkaPosition, KafkaError>)] = []
        var groupNumber: UInt64 = 0
        func flushGroup() {
            guard !group.isEmpty else { return }
            if groupNumber != cachedBatchNumber {
                cachedBatch = state.withLock { $0.batches[groupNumber] }
                cachedBatchNumber = groupNumber
            }
            if let target = cachedBatch, target.completeMany(group) {
                state.withLock { _ = $0.batches.removeValue(forKey: groupNumber) }
                cachedBatch = nil
                cachedBatchNumber = 0
            }
            group.removeAll(keepingCapacity: true)
        }
        for report in batch {
            guard report.id & Self.batchBit != 0 else {
                singles.append(report)
                continue
            }
            let number = (report.id & ~Self.batchBit) >> 24
            let index = Int(report.id & 0xFF_FFFF)
            if number != groupNumber {
                flushGroup()
                groupNumber = number
            }
            group.append((index, Self.result(report)))
        }
        flushGroup()
        guard !singles.isEmpty else { return }
        let waiters = state.withLock { state in singles.map { state.pending.removeValue(forKey: $0.id) } }
        for (report, waiter) in zip(singles, waiters) {
            waiter?.resolve(Self.result(report))
        }
    }

    private static func result(_ report: DeliveryReport) -> Result<KafkaPosition, KafkaError> {
        if report.error == RD_KAFKA_RESP_ERR_NO_ERROR {
            return .success(KafkaPosition(partition: report.partition, offset: report.offset))
        }
        return .failure(KafkaError(report.error, "delivery to partition \(report.partition) failed"))
    }

    func close(flushTimeout: Duration) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let alreadyClosed = state.withLock { state in
                if state.closed { return true }
                state.closing = true
                state.flushTimeout = flushTimeout
                state.closeWaiters.append(continuation)
                return false
            }
            if alreadyClosed { continuation.resume() } else { rd_kafka_yield(handle.pointer) }
        }
    }

    func handleError(_ code: rd_kafka_resp_err_t, reason: String) {
        if code == RD_KAFKA_RESP_ERR__FATAL {
            var buffer = [CChar](repeating: 0, count: 512)
            let underlying = rd_kafka_fatal_error(handle.pointer, &buffer, buffer.count)
            logger.error("fatal producer error", metadata: ["error": "\(KafkaErrorCode(underlying).name)", "reason": "\(reason)"])
        } else {
            logger.debug("producer error", metadata: ["error": "\(KafkaErrorCode(code).name)", "reason": "\(reason)"])
        }
    }
}

let producerDeliveryCallback: @convention(c) (OpaquePointer?, UnsafePointer<rd_kafka_message_t>?, UnsafeMutableRawPointer?) -> Void = {
    _, message, opaque in
    guard let message, let opaque else { return }
    let core = Unmanaged<ProducerCore>.fromOpaque(opaque).takeUnretainedValue()
    let id = UInt64(UInt(bitPattern: chat_kafka_message_opaque(message)))
    core.reports.append(.init(id: id, error: message.pointee.err, partition: message.pointee.partition, offset: message.pointee.offset))
}

let producerErrorCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void = {
    _, code, reason, opaque in
    guard let opaque else { return }
    let core = Unmanaged<AnyObject>.fromOpaque(opaque).takeUnretainedValue() as! ProducerCore
    core.handleError(rd_kafka_resp_err_t(rawValue: code), reason: reason.map { String(cString: $0) } ?? "")
}
