import Logging
import Synchronization

/// One long-lived consumer (no group) that serves range reads of a topic's partitions one after
/// another: history pages and author lookups of a node share it instead of opening a librdkafka
/// consumer and poll thread per request.
///
/// Reads are serialized in arrival order; at most ``maxWaiting`` wait for their turn (others fail
/// at once, so a burst of requests cannot queue without bound), and a read that gets no record
/// for the reader's idle timeout fails. The consumer is created on first use and again after a
/// failure left it closed.
public final class SharedPartitionReader: Sendable {
    /// Counts of what the reader did, for metrics.
    public struct Observers: Sendable {
        /// Called with the number of records a read handed to its caller.
        public var recordsRead: @Sendable (Int) -> Void
        /// Called each time a consumer is created.
        public var consumerCreated: @Sendable () -> Void

        public init(recordsRead: @escaping @Sendable (Int) -> Void = { _ in }, consumerCreated: @escaping @Sendable () -> Void = {}) {
            self.recordsRead = recordsRead
            self.consumerCreated = consumerCreated
        }
    }

    private struct State {
        var busy = false
        var waiters: [CheckedContinuation<Void, Never>] = []
        var consumer: KafkaConsumer?
        var closed = false
    }

    let configuration: KafkaConfiguration
    let topic: String
    /// Reads that may wait for their turn behind the running one.
    public let maxWaiting: Int
    let observers: Observers
    let logger: Logger
    private let state = Mutex(State())
    private let created = Atomic<Int>(0)

    public init(configuration: KafkaConfiguration, topic: String, maxWaiting: Int = 256, observers: Observers = .init(), logger: Logger) {
        self.configuration = configuration
        self.topic = topic
        self.maxWaiting = maxWaiting
        self.observers = observers
        self.logger = logger
    }

    /// Consumers created so far (one while nothing failed).
    public var consumersCreated: Int { created.load(ordering: .relaxed) }

    /// Calls `body` with every record of `[from, to)` of `partition` in offset order.
    func read(partition: Int32, from: Int64, to: Int64, idleTimeout: Duration, _ body: @escaping @Sendable (KafkaRecord) throws -> Void) async throws {
        try await acquire()
        defer { release() }
        try Task.checkCancellation()
        let consumer = try currentConsumer()
        let handed = HandedCount()
        defer { observers.recordsRead(handed.value) }
        do {
            try await consumer.reassign([KafkaTopicPartition(topic: topic, partition: partition, offset: .exact(from))])
            try await withThrowingTaskGroup(of: Void.self) { group in
                let progress = ReadProgress()
                group.addTask {
                    for try await record in consumer.records {
                        progress.touch()
                        // Only the new assignment's records arrive after `reassign`; the checks keep
                        // a read correct whatever librdkafka delivers.
                        guard record.topic == self.topic, record.partition == partition, record.offset >= from else { continue }
                        if record.offset >= to { return }
                        handed.add()
                        try body(record)
                        if record.offset >= to - 1 { return }
                    }
                    throw KafkaError(code: .destroyed, message: "the history reader is closed", isRetriable: false)
                }
                group.addTask { try await progress.failWhenIdle(for: idleTimeout, reading: "\(self.topic)[\(partition)] offsets \(from)..<\(to)") }
                try await group.next()
                group.cancelAll()
            }
            // Stop fetching until the next read.
            try await consumer.reassign([])
        } catch let error as KafkaError where error.code == .timedOut {
            try? await consumer.reassign([])
            throw error
        } catch {
            // The consumer may be unusable: the next read starts a new one.
            await drop(consumer)
            throw error
        }
    }

    /// Closes the consumer; later reads fail.
    public func close() async {
        let consumer = state.withLock { state -> KafkaConsumer? in
            state.closed = true
            defer { state.consumer = nil }
            return state.consumer
        }
        await consumer?.close()
    }

    private func currentConsumer() throws -> KafkaConsumer {
        try state.withLock { state in
            if state.closed { throw KafkaError(code: .destroyed, message: "the history reader is closed", isRetriable: false) }
            if let consumer = state.consumer { return consumer }
            let consumer = try KafkaConsumer(configuration: configuration, bufferCapacity: 5000, logger: logger)
            created.add(1, ordering: .relaxed)
            observers.consumerCreated()
            state.consumer = consumer
            return consumer
        }
    }

    private func drop(_ consumer: KafkaConsumer) async {
        let dropped = state.withLock { state in
            guard state.consumer === consumer else { return false }
            state.consumer = nil
            return true
        }
        if dropped { await consumer.close() }
    }

    private func acquire() async throws {
        enum Turn { case now, wait, full }
        let turn = state.withLock { state -> Turn in
            if !state.busy {
                state.busy = true
                return .now
            }
            return state.waiters.count >= maxWaiting ? .full : .wait
        }
        switch turn {
        case .now: return
        case .full: throw KafkaError(code: .queueFull, message: "\(maxWaiting) history reads are already waiting")
        case .wait:
            await withCheckedContinuation { continuation in
                let granted = state.withLock { state -> Bool in
                    // The running read may have finished in between.
                    if !state.busy {
                        state.busy = true
                        return true
                    }
                    state.waiters.append(continuation)
                    return false
                }
                if granted { continuation.resume() }
            }
        }
    }

    private func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiters.isEmpty else {
                state.busy = false
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}

/// Records a read handed to its caller, counted by the reading task and read afterwards.
final class HandedCount: Sendable {
    private let count = Atomic<Int>(0)

    func add() { count.add(1, ordering: .relaxed) }

    var value: Int { count.load(ordering: .relaxed) }
}
