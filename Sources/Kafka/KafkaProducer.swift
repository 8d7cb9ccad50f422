import CKafkaShim
import CRdKafka
import Logging
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
                return try await withCheckedThrowingContinuation { continuation in
                    core.produce(record, waiter: .single(continuation))
                }
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
        guard core.produce(record, waiter: .delivery(delivery)) else {
            throw KafkaError(code: .queueFull, message: "the producer's local queue is full")
        }
        return delivery
    }

    /// Produces records in order and waits for all their delivery reports with one suspension.
    public func send(_ records: [KafkaProducerRecord]) async -> [Result<KafkaPosition, KafkaError>] {
        guard !records.isEmpty else { return [] }
        let batch = DeliveryBatch(count: records.count)
        guard let number = core.registerBatch(batch, count: records.count) else {
            return Array(repeating: .failure(.closed("producer")), count: records.count)
        }
        var index = 0
        while index < records.count {
            let outcome = core.enqueueBatchRecord(records[index], number: number, index: index)
            if outcome == RD_KAFKA_RESP_ERR_NO_ERROR {
                index += 1
            } else if outcome == RD_KAFKA_RESP_ERR__QUEUE_FULL {
                try? await Task.sleep(for: .milliseconds(1))
            } else {
                core.batchRecordFailed(batch, number: number, index: index, KafkaError(outcome, "cannot produce to \(records[index].topic)[\(records[index].partition)]"))
                index += 1
            }
        }
        return await batch.results()
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

/// How a produced record's delivery report reaches its sender.
enum DeliveryWaiter {
    case single(CheckedContinuation<KafkaPosition, any Error>)
    case batch(DeliveryBatch, Int)
    case delivery(KafkaDelivery)

    func resolve(_ result: Result<KafkaPosition, KafkaError>) {
        switch self {
        case .single(let continuation): continuation.resume(with: result.mapError { $0 as any Error })
        case .batch(let batch, let index): batch.complete(index, with: result)
        case .delivery(let delivery): delivery.complete(with: result)
        }
    }
}

/// Collects the delivery reports of a batch and resumes its sender once, when all are in.
final class DeliveryBatch: Sendable {
    private struct State {
        var results: [Result<KafkaPosition, KafkaError>?]
        var remaining: Int
        var continuation: CheckedContinuation<[Result<KafkaPosition, KafkaError>], Never>?
    }

    private let state: Mutex<State>

    init(count: Int) {
        state = Mutex(State(results: Array(repeating: nil, count: count), remaining: count))
    }

    func complete(_ index: Int, with result: Result<KafkaPosition, KafkaError>) {
        let finished = state.withLock { state -> (CheckedContinuation<[Result<KafkaPosition, KafkaError>], Never>, [Result<KafkaPosition, KafkaError>])? in
            state.results[index] = result
            state.remaining -= 1
            guard state.remaining == 0, let continuation = state.continuation else { return nil }
            state.continuation = nil
            return (continuation, state.results.map { $0! })
        }
        if let (continuation, results) = finished { continuation.resume(returning: results) }
    }

    /// Completes several records with one lock; returns true when that finished the batch.
    func completeMany(_ completions: [(Int, Result<KafkaPosition, KafkaError>)]) -> Bool {
        let finished = state.withLock { state -> (CheckedContinuation<[Result<KafkaPosition, KafkaError>], Never>?, [Result<KafkaPosition, KafkaError>])? in
            for (index, result) in completions where state.results[index] == nil {
                state.results[index] = result
                state.remaining -= 1
            }
            guard state.remaining == 0 else { return nil }
            let continuation = state.continuation
            state.continuation = nil
            return (continuation, continuation == nil ? [] : state.results.map { $0! })
        }
        guard let (continuation, results) = finished else { return false }
        continuation?.resume(returning: results)
        return true
    }

    func failRemaining(_ error: KafkaError) {
        let pending = state.withLock { state in state.results.indices.filter { state.results[$0] == nil } }
        _ = completeMany(pending.map { ($0, .failure(error)) })
    }

    func results() async -> [Result<KafkaPosition, KafkaError>] {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> [Result<KafkaPosition, KafkaError>]? in
                if state.remaining == 0 { return state.results.map { $0! } }
                state.continuation = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }
}

/// The pending delivery report of one record from ``KafkaProducer/produce(_:)``.
public final class KafkaDelivery: Sendable {
    private struct State {
        var result: Result<KafkaPosition, KafkaError>?
        var continuation: CheckedContinuation<KafkaPosition, any Error>?
    }

    private let state = Mutex(State())

    init() {}

    func complete(with result: Result<KafkaPosition, KafkaError>) {
        let continuation = state.withLock { state -> CheckedContinuation<KafkaPosition, any Error>? in
            state.result = result
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume(with: result.mapError { $0 as any Error })
    }

    /// Waits for the delivery report: where the record landed, or why it was not delivered.
    public func position() async throws -> KafkaPosition {
        try await withCheckedThrowingContinuation { continuation in
            let ready = state.withLock { state -> Result<KafkaPosition, KafkaError>? in
                if let result = state.result { return result }
                state.continuation = continuation
                return nil
            }
            if let ready { continuation.resume(with: ready.mapError { $0 as any Error }) }
        }
    }
}
