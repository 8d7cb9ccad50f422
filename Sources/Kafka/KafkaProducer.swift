import CKafkaShim
import CRdKafka
import Logging
import NIOConcurrencyHelpers
import Synchronization

/// An idempotent Kafka producer (`enable.idempotence=true`, `acks=all`).
///
/// `send` returns once the record is acknowledged by the in-sync replicas, with the partition and
/// offset from the delivery report. Delivery reports are polled on a dedicated thread; the C
/// callback only buffers them and Swift code on that thread resolves the waiting tasks.
public final class KafkaProducer: Sendable {
    let core: ProducerCore

    /// Properties the wrapper sets unless the configuration says otherwise.
    public static let defaultProperties: [String: String] = [
        "enable.idempotence": "true",
        "acks": "all",
        "linger.ms": "1",
        "queue.buffering.max.messages": "100000",
    ]

    public init(configuration: KafkaConfiguration, logger: Logger = Logger(label: "kafka.producer")) throws {
        let nativeConfiguration = try configuration.withDefaults(Self.defaultProperties).makeNative()
        let core = ProducerCore(logger: logger)
        rd_kafka_conf_set_opaque(nativeConfiguration, Unmanaged.passUnretained(core as AnyObject).toOpaque())
        rd_kafka_conf_set_dr_msg_cb(nativeConfiguration, producerDeliveryCallback)
        rd_kafka_conf_set_error_cb(nativeConfiguration, producerErrorCallback)
        rd_kafka_conf_set_log_cb(nativeConfiguration, kafkaLogCallback)
        let handle = try KafkaHandle(kind: .producer, nativeConfiguration: nativeConfiguration)
        core.start(handle: handle)
        self.core = core
    }

    /// Produces one record and waits for its delivery report.
    /// - Throws: `KafkaError` when the record could not be delivered within `delivery.timeout.ms`.
    public func send(_ record: KafkaProducerRecord) async throws -> KafkaPosition {
        while true {
            do {
                return try await produce(record).position()
            } catch let error as KafkaError where error.code == .queueFull {
                // The local queue is bounded (`queue.buffering.max.messages`): wait for room.
                try await Task.sleep(for: .milliseconds(1))
            }
        }
    }

    /// Enqueues a record now and returns a handle to await its delivery report later.
    ///
    /// Records enqueued one after another land in that order in their partition, so callers that
    /// must keep an order enqueue in sequence and wait concurrently.
    /// - Throws: `KafkaError` with code `.queueFull` (retriable) when the bounded local queue is full.
    public func produce(_ record: KafkaProducerRecord) throws(KafkaError) -> KafkaDelivery {
        let delivery = KafkaDelivery()
        try core.produce(record, delivery: delivery)
        return delivery
    }

    /// Produces records in order and waits for all their delivery reports with one suspension.
    ///
    /// The result holds every record's position and, apart, the records that were not delivered
    /// with their errors: a record librdkafka refuses at once (larger than `message.max.bytes`, for a
    /// partition the topic does not have) fails alone and the others are still sent. The batch is
    /// queued once for the producer's poll thread, which hands its records to librdkafka in order
    /// (after the batches queued before it) and waits for room when the bounded local queue is
    /// full; per record there is no lock, allocation, task or continuation on the Swift side.
    public func send(_ records: [KafkaProducerRecord]) async -> KafkaBatchResult {
        guard records.count <= ProducerCore.maxBatchRecords else {
            var positions: [KafkaPosition] = []
            var failures: [KafkaBatchResult.Failure] = []
            for start in stride(from: 0, to: records.count, by: ProducerCore.maxBatchRecords) {
                let part = await send(Array(records[start..<min(start + ProducerCore.maxBatchRecords, records.count)]))
                failures += part.failures.map { KafkaBatchResult.Failure(index: start + $0.index, error: $0.error) }
                positions += part.positions
            }
            return KafkaBatchResult(positions: positions, failures: failures)
        }
        guard !records.isEmpty else { return KafkaBatchResult(positions: []) }
        let batch = DeliveryBatch(count: records.count)
        guard core.submitBatch(records, batch) else {
            let error = KafkaError.closed("producer")
            return KafkaBatchResult(
                positions: records.map { KafkaPosition(partition: $0.partition, offset: KafkaBatchResult.noOffset) },
                failures: records.indices.map { KafkaBatchResult.Failure(index: $0, error: error) })
        }
        return await batch.result()
    }

    /// Waits until every record produced so far has its delivery report, or the timeout passes.
    public func flush(timeout: Duration) async throws {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while core.pendingCount > 0 {
            if clock.now >= deadline {
                throw KafkaError(code: .timedOut, message: "flush: \(core.pendingCount) records still in flight")
            }
            try await Task.sleep(for: .milliseconds(1))
        }
    }

    /// Number of records produced whose delivery report has not arrived yet.
    public var inFlightCount: Int { core.pendingCount }

    /// Flushes what is in flight (up to `flushTimeout`), fails what remains and releases the client.
    /// Safe to call more than once.
    public func close(flushTimeout: Duration = .seconds(10)) async {
        await core.close(flushTimeout: flushTimeout)
    }
}

/// Collects the delivery reports of a `send([...])` batch in place and resumes its sender once,
/// when all are in.
final class DeliveryBatch: Sendable {
    private struct State {
        var positions: [KafkaPosition]
        var done: [Bool]
        var failures: [KafkaBatchResult.Failure] = []
        var remaining: Int
        var continuation: CheckedContinuation<KafkaBatchResult, Never>?
        var result: KafkaBatchResult?

        /// Builds the result once the last record is in; hands over the arrays without copying them.
        mutating func finish() -> KafkaBatchResult {
            failures.sort { $0.index < $1.index }
            let result = KafkaBatchResult(positions: positions, failures: failures)
            positions = []
            failures = []
            done = []
            return result
        }
    }

    private let state: NIOLockedValueBox<State>

    init(count: Int) {
        state = NIOLockedValueBox(
            State(
                positions: Array(repeating: KafkaPosition(partition: -1, offset: KafkaBatchResult.noOffset), count: count),
                done: Array(repeating: false, count: count), remaining: count))
    }

    /// Records a run of this batch's delivery reports under one lock; true when that finished the batch.
    func complete(_ reports: UnsafeBufferPointer<ProducerCore.DeliveryReport>) -> Bool {
        let finished = state.withLockedValue { state -> (CheckedContinuation<KafkaBatchResult, Never>?, KafkaBatchResult)? in
            // Work on the arrays moved out of the state, through their buffers: no copy, no
            // uniqueness check per record.
            var positions: [KafkaPosition] = []
            var done: [Bool] = []
            swap(&positions, &state.positions)
            swap(&done, &state.done)
            var remaining = state.remaining
            var failures: [KafkaBatchResult.Failure] = []
            positions.withUnsafeMutableBufferPointer { positions in
                done.withUnsafeMutableBufferPointer { done in
                    for report in reports {
                        let index = Int(truncatingIfNeeded: report.id & 0xFF_FFFF)
                        guard !done[index] else { continue }
                        done[index] = true
                        remaining -= 1
                        if report.error == RD_KAFKA_RESP_ERR_NO_ERROR {
                            positions[index] = KafkaPosition(partition: report.partition, offset: report.offset)
                        } else {
                            positions[index] = KafkaPosition(partition: report.partition, offset: KafkaBatchResult.noOffset)
                            failures.append(.init(index: index, error: ProducerCore.deliveryError(report)))
                        }
                    }
                }
            }
            swap(&positions, &state.positions)
            swap(&done, &state.done)
            state.remaining = remaining
            state.failures += failures
            return Self.takeIfFinished(&state)
        }
        return Self.resume(finished)
    }

    /// Fails records that never reached librdkafka; true when that finished the batch.
    func fail(_ indices: Range<Int>, of records: UnsafeBufferPointer<KafkaProducerRecord>, _ error: KafkaError) -> Bool {
        let finished = state.withLockedValue { state -> (CheckedContinuation<KafkaBatchResult, Never>?, KafkaBatchResult)? in
            for index in indices where !state.done[index] {
                state.done[index] = true
                state.remaining -= 1
                state.positions[index] = KafkaPosition(partition: records[index].partition, offset: KafkaBatchResult.noOffset)
                state.failures.append(.init(index: index, error: error))
            }
            return Self.takeIfFinished(&state)
        }
        return Self.resume(finished)
    }

    /// Fails every record without a delivery report yet (the producer closed before they came).
    func failRemaining(_ error: KafkaError) {
        let finished = state.withLockedValue { state -> (CheckedContinuation<KafkaBatchResult, Never>?, KafkaBatchResult)? in
            guard state.remaining > 0 else { return nil }
            for index in state.done.indices where !state.done[index] {
                state.done[index] = true
                state.failures.append(.init(index: index, error: error))
            }
            state.remaining = 0
            return Self.takeIfFinished(&state)
        }
        _ = Self.resume(finished)
    }

    private static func takeIfFinished(_ state: inout State) -> (CheckedContinuation<KafkaBatchResult, Never>?, KafkaBatchResult)? {
        guard state.remaining == 0, state.result == nil else { return nil }
        let result = state.finish()
        guard let continuation = state.continuation else {
            state.result = result
            return (nil, result)
        }
        state.continuation = nil
        return (continuation, result)
    }

    private static func resume(_ finished: (CheckedContinuation<KafkaBatchResult, Never>?, KafkaBatchResult)?) -> Bool {
        guard let (continuation, result) = finished else { return false }
        continuation?.resume(returning: result)
        return true
    }

    /// Waits until every record of the batch is delivered or failed.
    func result() async -> KafkaBatchResult {
        await withCheckedContinuation { continuation in
            let ready = state.withLockedValue { state -> KafkaBatchResult? in
                if let result = state.result { return result }
                state.continuation = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

/// The pending delivery report of one record from ``KafkaProducer/produce(_:)``.
public final class KafkaDelivery: Sendable {
    private typealias Waiter = UnsafeContinuation<KafkaPosition, any Error>

    /// Code run on the poll thread when the report arrives (``whenComplete(_:)``).
    public typealias Completion = @Sendable (Result<KafkaPosition, KafkaError>) -> Void

    private struct State {
        var result: Result<KafkaPosition, KafkaError>?
        var waiter: Waiter?
        /// Further tasks awaiting the same delivery (rare).
        var moreWaiters: [Waiter] = []
        var completions: [Completion] = []
    }

    private let state = NIOLockedValueBox(State())

    init() {}

    /// Called once per delivery, by the producer's poll thread (or at once when the record is refused).
    func complete(with result: Result<KafkaPosition, KafkaError>) {
        let (waiter, moreWaiters, completions) = state.withLockedValue { state -> (Waiter?, [Waiter], [Completion]) in
            state.result = result
            defer {
                state.waiter = nil
                state.moreWaiters = []
                state.completions = []
            }
            return (state.waiter, state.moreWaiters, state.completions)
        }
        // Completions run before the waiters resume, so a task that awaited the position sees
        // every completion of this delivery done (the order callers, and tests, rely on).
        for completion in completions { completion(result) }
        // Each waiter is stored once and taken out here once: resumed exactly once.
        waiter?.resume(with: result.mapError { $0 as any Error })
        for waiter in moreWaiters { waiter.resume(with: result.mapError { $0 as any Error }) }
    }

    /// Runs `completion` once with the delivery report: on the producer's poll thread when it
    /// arrives (keep it short and non-blocking: it delays the reports behind it), or at once on the
    /// calling thread when it is already in. Costs no task and no continuation, so a caller that
    /// acknowledges many records can batch what it does next instead of waking a task per record.
    public func whenComplete(_ completion: @escaping Completion) {
        let ready = state.withLockedValue { state -> Result<KafkaPosition, KafkaError>? in
            if let result = state.result { return result }
            state.completions.append(completion)
            return nil
        }
        if let ready { completion(ready) }
    }

    /// Waits for the delivery report: where the record landed, or why it was not delivered.
    public func position() async throws -> KafkaPosition {
        try await withUnsafeThrowingContinuation { (continuation: Waiter) in
            let ready = state.withLockedValue { state -> Result<KafkaPosition, KafkaError>? in
                if let result = state.result { return result }
                if state.waiter == nil { state.waiter = continuation } else { state.moreWaiters.append(continuation) }
                return nil
            }
            if let ready { continuation.resume(with: ready.mapError { $0 as any Error }) }
        }
    }
}
