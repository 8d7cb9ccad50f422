import CKafkaShim
import CRdKafka
import Logging
import NIOConcurrencyHelpers
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The client and its main queue, the one `rd_kafka_poll` serves: `rd_kafka_queue_yield` on it
/// wakes the poll thread from another thread (`rd_kafka_yield` only works inside a callback).
struct ProducerClient: @unchecked Sendable {
    let handle: KafkaHandle
    let queue: OpaquePointer
}

/// The producer's state shared between Swift tasks and its poll thread.
///
/// Records sent one at a time (`send(_:)`, `produce(_:)`) are handed to librdkafka by the calling
/// task: `produce(_:)` must report a full queue at once, and a hop to another thread would add
/// latency. Batches (`send([...])`) are handed to librdkafka by the poll thread, which also serves
/// the delivery reports, as a C program's produce loop does: librdkafka allocates each message
/// where it is produced and frees it where its delivery report is served, and doing both on one
/// thread keeps malloc's arenas uncontended (cooperative threads producing while the poll thread
/// freed cost more than all of the wrapper's own per-record work); it also keeps two cooperative
/// threads from contending on librdkafka's topic and partition locks.
///
/// The lifecycle and the deliveries awaiting reports are ``ProducerStateMachine``, kept in
/// `machine`'s lock. The poll thread gets the client once, when it starts, and is the only one to
/// poll, flush and destroy it; tasks get it from the machine while it accepts records. The main
/// queue is yielded only while the lock is held, and the poll thread moves the machine past
/// `closing` under that lock before destroying it.
final class ProducerCore: KafkaCallbackTarget, @unchecked Sendable {
    typealias Machine = ProducerStateMachine<ProducerClient, CheckedContinuation<Void, Never>>
    typealias BatchJob = Machine.BatchJob

    struct DeliveryReport {
        var id: UInt64
        var error: rd_kafka_resp_err_t
        var partition: Int32
        var offset: Int64
    }

    let logger: Logger
    let logSink: KafkaLogSink
    /// A pthread lock rather than `Mutex`: ThreadSanitizer sees pthread locks, and does not see
    /// `Mutex`'s on Linux (it reports every access under one as a race), so tools/test-tsan.sh can
    /// check the cores.
    private let machine = NIOLockedValueBox(Machine())
    /// Filled by the delivery callback and drained right after, both on the poll thread only.
    /// Kept behind a pointer: a `var` of a class would cost two dynamic exclusivity checks per record.
    private let reports = UnsafeMutablePointer<[DeliveryReport]>.allocate(capacity: 1)

    init(logger: Logger) {
        self.logger = logger
        self.logSink = KafkaLogSink(logger: logger)
        reports.initialize(to: [])
        reports.pointee.reserveCapacity(4096)
    }

    deinit {
        reports.deinitialize(count: 1)
        reports.deallocate()
    }

    /// Called by the delivery callback, inside `rd_kafka_poll` / `rd_kafka_flush` on the poll thread.
    func bufferReport(_ report: DeliveryReport) {
        reports.pointee.append(report)
    }

    private let inFlight = Atomic<Int>(0)
    var pendingCount: Int { inFlight.load(ordering: .relaxed) }
    /// Tasks between being accepted by `produce` (under the lock, before `closing`) and the return
    /// of their `rd_kafka_producev`: the poll thread waits for none to be left before it destroys
    /// the client.
    private let callersProducing = Atomic<Int>(0)

    static let batchBit: UInt64 = 1 << 63
    /// Records a batch may hold: the record's index takes the low 24 bits of the message opaque.
    static let maxBatchRecords = 1 << 24
    static func batchOpaque(_ number: UInt64, _ index: Int) -> UInt64 { batchBit | (number << 24) | UInt64(index) }
    /// Records the poll thread hands to librdkafka between two polls for delivery reports.
    private static let recordsPerPoll = 1024

    /// Queues a batch for the poll thread (one lock per batch, nothing per record). False when the
    /// producer is closing.
    func submitBatch(_ records: [KafkaProducerRecord], _ batch: DeliveryBatch) -> Bool {
        inFlight.add(records.count, ordering: .relaxed)
        let accepted = machine.withLockedValue { machine in
            guard let client = machine.submit(records, batch) else { return false }
            rd_kafka_queue_yield(client.queue)
            return true
        }
        if !accepted { inFlight.subtract(records.count, ordering: .relaxed) }
        return accepted
    }

    /// Hands up to `recordsPerPoll` records of `job` to librdkafka (poll thread only). Returns true
    /// when it stopped because the local queue is full. A record librdkafka refuses for any other
    /// reason (unknown partition, too large) fails alone, at once.
    private func produceSome(_ job: inout BatchJob, _ handle: OpaquePointer) -> Bool {
        let end = min(job.records.count, job.next + Self.recordsPerPoll)
        var index = job.next
        var queueFull = false
        let (number, batch) = (job.number, job.batch)
        // A batch's records usually share their topic: its C string is made once per call, and a
        // record's topic is compared with it (the same string storage compares equal without a
        // retain), instead of a retain, C string and release per record.
        let topic = job.records[index].topic
        topic.withCString { cTopic in
            job.records.withUnsafeBufferPointer { buffer in
                while index < end {
                    let record = buffer.baseAddress! + index
                    let id = Self.batchOpaque(number, index)
                    let outcome =
                        record.pointee.topic == topic
                        ? Self.enqueue(record, topic: cTopic, id: id, handle: handle)
                        : record.pointee.topic.withCString { Self.enqueue(record, topic: $0, id: id, handle: handle) }
                    if outcome == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                        queueFull = true
                        break
                    }
                    if outcome != RD_KAFKA_RESP_ERR_NO_ERROR {
                        failUnsent(
                            batch, number: number, index..<index + 1, of: buffer,
                            KafkaError(outcome, "cannot produce to \(record.pointee.topic)[\(record.pointee.partition)]"))
                    }
                    index += 1
                }
            }
        }
        job.next = index
        return queueFull
    }

    private func failUnsent(
        _ batch: DeliveryBatch, number: UInt64, _ indices: Range<Int>, of records: UnsafeBufferPointer<KafkaProducerRecord>, _ error: KafkaError
    ) {
        guard !indices.isEmpty else { return }
        inFlight.subtract(indices.count, ordering: .relaxed)
        if batch.fail(indices, of: records, error) {
            machine.withLockedValue { $0.removeBatch(number) }
        }
    }

    func start(handle: KafkaHandle) {
        let client = ProducerClient(handle: handle, queue: rd_kafka_queue_get_main(handle.pointer))
        machine.withLockedValue { $0.start(client) }
        KafkaThread.start(name: "kafka-producer-poll") { self.pollLoop(client) }
    }

    /// Runs `body` with the client's handle on the calling thread (for one-shot calls made on
    /// ``KafkaBlockingCalls``), or returns nil once the producer is closed. The handle stays alive
    /// until `body` returns, even if the producer closes meanwhile.
    func withBorrowedHandle<Result>(_ body: (KafkaHandle) throws -> Result) rethrows -> Result? {
        guard let client = machine.withLockedValue({ $0.borrowClient() }) else { return nil }
        defer {
            if let destroy = machine.withLockedValue({ $0.returnClient() }) {
                // rd_kafka_destroy blocks: never on the caller's thread, which may be a cooperative one.
                KafkaThread.start(name: "kafka-producer-destroy") { self.destroy(destroy) }
            }
        }
        return try body(client.handle)
    }

    /// Registers the delivery and enqueues the record on the calling thread. Throws `.queueFull`,
    /// leaving the delivery untouched, when the local queue is full; any other refusal completes
    /// the delivery with the error.
    func produce(_ record: KafkaProducerRecord, delivery: KafkaDelivery) throws(KafkaError) {
        let action = machine.withLockedValue { machine in
            let action = machine.produce(delivery)
            if case .enqueue = action { callersProducing.add(1, ordering: .relaxed) }
            return action
        }
        guard case .enqueue(let client, let id) = action else {
            delivery.complete(with: .failure(.closed("producer")))
            return
        }
        inFlight.add(1, ordering: .relaxed)
        let handle = client.handle.pointer
        let outcome = withUnsafePointer(to: record) { record in
            record.pointee.topic.withCString { Self.enqueue(record, topic: $0, id: id, handle: handle) }
        }
        callersProducing.subtract(1, ordering: .releasing)
        if outcome == RD_KAFKA_RESP_ERR_NO_ERROR { return }
        _ = machine.withLockedValue { $0.removeDelivery(id) }
        inFlight.subtract(1, ordering: .relaxed)
        if outcome == RD_KAFKA_RESP_ERR__QUEUE_FULL {
            throw KafkaError(code: .queueFull, message: "the producer's local queue is full")
        }
        delivery.complete(with: .failure(KafkaError(outcome, "cannot produce to \(record.topic)[\(record.partition)]")))
    }

    /// Hands one record to librdkafka (which copies it), with its topic already as a C string.
    /// Reads the record in place, through a pointer: neither the record nor its arrays are copied
    /// or retained.
    private static func enqueue(
        _ record: UnsafePointer<KafkaProducerRecord>, topic: UnsafePointer<CChar>, id: UInt64, handle: OpaquePointer
    ) -> rd_kafka_resp_err_t {
        var headers: OpaquePointer? = nil
        if !record.pointee.headers.isEmpty {
            headers = rd_kafka_headers_new(record.pointee.headers.count)
            for header in record.pointee.headers {
                header.value.withUnsafeBytes { bytes in
                    _ = rd_kafka_header_add(headers, header.key, -1, bytes.baseAddress, bytes.count)
                }
            }
        }
        let opaque = UnsafeMutableRawPointer(bitPattern: UInt(id))
        // librdkafka stamps the current time for a timestamp of 0.
        let timestamp = record.pointee.timestampMilliseconds ?? 0
        let partition = record.pointee.partition
        let result = record.pointee.value.withUnsafeBytes { value in
            guard let key = record.pointee.key else {
                return chat_kafka_produce(handle, topic, partition, nil, 0, value.baseAddress, value.count, headers, timestamp, opaque)
            }
            return key.withUnsafeBytes { keyBytes in
                chat_kafka_produce(
                    handle, topic, partition, keyBytes.baseAddress, keyBytes.count, value.baseAddress, value.count,
                    headers, timestamp, opaque)
            }
        }
        if result != RD_KAFKA_RESP_ERR_NO_ERROR, let headers { rd_kafka_headers_destroy(headers) }
        return result
    }

    /// The poll thread: hands submitted batches to librdkafka in order, `recordsPerPoll` records at
    /// a time, and serves delivery reports between them (waiting up to 1 ms when the local queue is
    /// full, up to 100 ms when there is nothing to produce; a submitted batch or `close` wakes it).
    private func pollLoop(_ client: ProducerClient) {
        let pointer = client.handle.pointer
        var job: BatchJob?
        var stop: (unsent: [BatchJob], flushTimeout: Duration)
        while true {
            switch machine.withLockedValue({ $0.nextJob(holding: job != nil) }) {
            case .stop(let unsent, let flushTimeout):
                stop = (unsent, flushTimeout)
            case .produce(let taken):
                if let taken { job = taken }
                guard var current = job else {
                    rd_kafka_poll(pointer, 100)
                    deliverReports()
                    continue
                }
                job = nil
                let queueFull = produceSome(&current, pointer)
                if current.next < current.records.count { job = current }
                rd_kafka_poll(pointer, queueFull ? 1 : 0)
                deliverReports()
                continue
            }
            break
        }
        // Records of accepted batches that never reached librdkafka fail now; what did is flushed.
        let unsent = (job.map { [$0] } ?? []) + stop.unsent
        let notSent = KafkaError(code: .destroyed, message: "producer closed before the record was sent", isRetriable: true)
        for job in unsent {
            job.records.withUnsafeBufferPointer { buffer in
                failUnsent(job.batch, number: job.number, job.next..<buffer.count, of: buffer, notSent)
            }
        }
        let flushTimeout = stop.flushTimeout
        let flushMilliseconds = Int32(flushTimeout.components.seconds * 1000 + flushTimeout.components.attoseconds / 1_000_000_000_000_000)
        let flushResult = rd_kafka_flush(pointer, flushMilliseconds)
        deliverReports()
        if flushResult != RD_KAFKA_RESP_ERR_NO_ERROR {
            logger.warning("producer closed with records still in flight", metadata: ["count": "\(pendingCount)"])
        }
        let (leftovers, batches, destroy) = machine.withLockedValue { $0.pollLoopFinished() }
        let undelivered = KafkaError(code: .destroyed, message: "producer closed before delivery", isRetriable: true)
        for batch in batches { batch.failRemaining(undelivered) }
        for delivery in leftovers { delivery.complete(with: .failure(undelivered)) }
        if let destroy { self.destroy(destroy) }
    }

    /// Destroys the client, by whoever used it last (the poll thread, or a thread of its own).
    private func destroy(_ destroy: Machine.Destroy) {
        // A task accepted just before `closing` may still be inside rd_kafka_producev.
        while callersProducing.load(ordering: .acquiring) > 0 { sched_yield() }
        rd_kafka_queue_destroy(destroy.client.queue)
        destroy.client.handle.destroyBlocking()
        for waiter in destroy.waiters { waiter.resume() }
    }

    private var cachedBatchNumber: UInt64 = 0
    private var cachedBatch: DeliveryBatch?

    /// Resolves the buffered delivery reports (poll thread only). Consecutive reports of the same
    /// batch, the usual case, are handed to it as one slice of the buffer: one lock per run.
    private func deliverReports() {
        let count = reports.pointee.count
        guard count > 0 else { return }
        inFlight.subtract(count, ordering: .relaxed)
        var singles: [DeliveryReport] = []
        reports.pointee.withUnsafeBufferPointer { buffer in
            var start = 0
            while start < buffer.count {
                let id = buffer[start].id
                guard id & Self.batchBit != 0 else {
                    singles.append(buffer[start])
                    start += 1
                    continue
                }
                let number = Self.batchNumber(id)
                var end = start + 1
                while end < buffer.count, buffer[end].id & Self.batchBit != 0, Self.batchNumber(buffer[end].id) == number { end += 1 }
                completeBatch(number, UnsafeBufferPointer(rebasing: buffer[start..<end]))
                start = end
            }
        }
        reports.pointee.removeAll(keepingCapacity: true)
        guard !singles.isEmpty else { return }
        let deliveries = machine.withLockedValue { $0.takeDeliveries(singles.lazy.map(\.id)) }
        for (report, delivery) in zip(singles, deliveries) {
            delivery?.complete(with: Self.result(report))
        }
    }

    private static func batchNumber(_ id: UInt64) -> UInt64 { (id & ~batchBit) >> 24 }

    private func completeBatch(_ number: UInt64, _ run: UnsafeBufferPointer<DeliveryReport>) {
        if number != cachedBatchNumber {
            cachedBatch = machine.withLockedValue { $0.batch(number) }
            cachedBatchNumber = number
        }
        guard let batch = cachedBatch, batch.complete(run) else { return }
        machine.withLockedValue { $0.removeBatch(number) }
        cachedBatch = nil
        cachedBatchNumber = 0
    }

    static func result(_ report: DeliveryReport) -> Result<KafkaPosition, KafkaError> {
        if report.error == RD_KAFKA_RESP_ERR_NO_ERROR {
            return .success(KafkaPosition(partition: report.partition, offset: report.offset))
        }
        return .failure(deliveryError(report))
    }

    static func deliveryError(_ report: DeliveryReport) -> KafkaError {
        KafkaError(report.error, "delivery to partition \(report.partition) failed")
    }

    func close(flushTimeout: Duration) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resume = machine.withLockedValue { machine -> CheckedContinuation<Void, Never>? in
                switch machine.close(continuation, flushTimeout: flushTimeout) {
                case .wake(let client):
                    rd_kafka_queue_yield(client.queue)
                    return nil
                case .resume(let waiter):
                    return waiter
                case .wait:
                    return nil
                }
            }
            resume?.resume()
        }
    }

    /// In a callback served by the poll thread, with the client it was served on.
    func handleError(_ handle: OpaquePointer, _ code: rd_kafka_resp_err_t, reason: String) {
        if code == RD_KAFKA_RESP_ERR__FATAL {
            var buffer = [CChar](repeating: 0, count: 512)
            let underlying = rd_kafka_fatal_error(handle, &buffer, buffer.count)
            logger.error("fatal producer error", metadata: ["error": "\(KafkaErrorCode(underlying).name)", "reason": "\(reason)"])
        } else {
            logger.debug("producer error", metadata: ["error": "\(KafkaErrorCode(code).name)", "reason": "\(reason)"])
        }
    }
}

let producerDeliveryCallback: @convention(c) (OpaquePointer?, UnsafePointer<rd_kafka_message_t>?, UnsafeMutableRawPointer?) -> Void = {
    _, message, opaque in
    guard let message, let opaque else { return }
    let id = UInt64(UInt(bitPattern: chat_kafka_message_opaque(message)))
    let report = ProducerCore.DeliveryReport(id: id, error: message.pointee.err, partition: message.pointee.partition, offset: message.pointee.offset)
    // The producer outlives its poll thread, the only caller: no retain and release per record.
    Unmanaged<ProducerCore>.fromOpaque(opaque)._withUnsafeGuaranteedRef { $0.bufferReport(report) }
}

let producerErrorCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?) -> Void = {
    handle, code, reason, opaque in
    guard let handle, let opaque else { return }
    let core = Unmanaged<AnyObject>.fromOpaque(opaque).takeUnretainedValue() as! ProducerCore
    core.handleError(handle, rd_kafka_resp_err_t(rawValue: code), reason: reason.map { String(cString: $0) } ?? "")
}
