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
        var closing = false
        var closed = false
        var closeWaiters: [CheckedContinuation<Void, Never>] = []
        var flushTimeout: Duration = .seconds(10)
    }

    let logger: Logger
    let logSink: KafkaLogSink
    private let state = Mutex(State())
    private var handle: KafkaHandle!
    /// Filled by the delivery callback and drained right after, both on the poll thread only.
    var reports: [DeliveryReport] = []

    init(logger: Logger) {
        self.logger = logger
        self.logSink = KafkaLogSink(logger: logger)
    }

    var pendingCount: Int { state.withLock { $0.pending.count } }

    func start(handle: KafkaHandle) {
        self.handle = handle
        KafkaThread.start(name: "kafka-producer-poll") { self.pollLoop() }
    }

    /// Registers the waiter and enqueues the record. Returns false, leaving the waiter unresolved,
    /// only when the local queue is full and the caller should retry; every other outcome resolves it.
    @discardableResult
    func produce(_ record: KafkaProducerRecord, waiter: DeliveryWaiter) -> Bool {
        let outcome: rd_kafka_resp_err_t? = state.withLock { state in
            if state.closing { return nil }
            let id = state.nextID
            state.nextID += 1
            state.pending[id] = waiter
            let result = Self.enqueue(record, id: id, handle: handle.pointer)
            if result != RD_KAFKA_RESP_ERR_NO_ERROR { state.pending[id] = nil }
            return result
        }
        guard let outcome else {
            waiter.resolve(.failure(.closed("producer")))
            return true
        }
        if outcome == RD_KAFKA_RESP_ERR_NO_ERROR { return true }
        let error = KafkaError(outcome, "cannot produce to \(record.topic)[\(record.partition)]")
        if error.code == .queueFull {
            switch waiter {
            case .batch, .delivery: return false
            case .single: break
            }
        }
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
        let result = record.value.withUnsafeBytes { value in
            if let key = record.key {
                return key.withUnsafeBytes { keyBytes in
                    chat_kafka_produce(
                        handle, record.topic, record.partition, keyBytes.baseAddress, keyBytes.count,
                        value.baseAddress, value.count, headers, timestamp, opaque)
                }
            }
            return chat_kafka_produce(
                handle, record.topic, record.partition, nil, 0, value.baseAddress, value.count, headers,
                timestamp, opaque)
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

    private func deliverReports() {
        guard !reports.isEmpty else { return }
        let batch = reports
        reports.removeAll(keepingCapacity: true)
        let waiters = state.withLock { state in batch.map { state.pending.removeValue(forKey: $0.id) } }
        for (report, waiter) in zip(batch, waiters) {
            guard let waiter else { continue }
            if report.error == RD_KAFKA_RESP_ERR_NO_ERROR {
                waiter.resolve(.success(KafkaPosition(partition: report.partition, offset: report.offset)))
            } else {
                waiter.resolve(.failure(KafkaError(report.error, "delivery to partition \(report.partition) failed")))
            }
        }
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
    let core = Unmanaged<AnyObject>.fromOpaque(opaque).takeUnretainedValue() as! ProducerCore
    let id = UInt64(UInt(bitPattern: chat_kafka_message_opaque(message)))
    core.reports.append(.init(id: id, error: message.pointee.err, partition: message.pointee.partition, offset: message.pointee.offset))
}

let producerErrorCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void = {
    _, code, reason, opaque in
    guard let opaque else { return }
    let core = Unmanaged<AnyObject>.fromOpaque(opaque).takeUnretainedValue() as! ProducerCore
    core.handleError(rd_kafka_resp_err_t(rawValue: code), reason: reason.map { String(cString: $0) } ?? "")
}
