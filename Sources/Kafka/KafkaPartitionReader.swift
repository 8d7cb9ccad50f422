import Logging
import NIOConcurrencyHelpers
import Synchronization

/// One long-lived consumer (no group) that serves range reads of a topic's partitions, one after
/// another, as ``KafkaPartitionRecords`` sequences: history pages, author lookups and replays share
/// it instead of opening a librdkafka consumer and poll thread per request.
///
/// A read takes the reader's turn when it is first iterated and gives it back when it reaches its
/// end, fails, is cancelled, or is dropped before its end (an early `break`). At most
/// ``maxWaiting`` reads wait for the turn; others fail at once with `queueFull`, so a burst of
/// requests cannot queue without bound. A read that gets no record for ``idleTimeout`` fails with
/// `timedOut`. The consumer is created on first use and again after a failure left it unusable.
public final class KafkaPartitionReader: Sendable {
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
        var waiters: [(id: Int, continuation: CheckedContinuation<Void, any Error>)] = []
        var nextWaiterID = 0
        var consumer: KafkaConsumer?
        var closed = false
        /// When the last read gave the turn back (nil while none has).
        var idleSince: ContinuousClock.Instant?
    }

    public let configuration: KafkaConfiguration
    public let topic: String
    /// How long a read waits for its next record before failing with `timedOut`.
    public let idleTimeout: Duration
    /// Reads that may wait for their turn behind the running one.
    public let maxWaiting: Int
    /// Whether each read closes the consumer when it ends (a consumer per read, for reads that
    /// must never wait behind others and are rare enough not to need one kept open).
    public let closesAfterEachRead: Bool
    let observers: Observers
    let logger: Logger
    // A pthread-based lock, like the cores': ThreadSanitizer does not see Synchronization's Mutex on Linux.
    private let state = NIOLockedValueBox(State())
    private let created = Atomic<Int>(0)

    public init(
        configuration: KafkaConfiguration, topic: String, idleTimeout: Duration = .seconds(10), maxWaiting: Int = 256,
        closesAfterEachRead: Bool = false, observers: Observers = .init(), logger: Logger
    ) {
        self.closesAfterEachRead = closesAfterEachRead
        self.configuration = configuration
        self.topic = topic
        self.idleTimeout = idleTimeout
        self.maxWaiting = maxWaiting
        self.observers = observers
        self.logger = logger
    }

    /// Consumers created so far (one while nothing failed).
    public var consumersCreated: Int { created.load(ordering: .relaxed) }

    /// The records of `[from, to)` of `partition` in offset order. `to` must not exceed the
    /// partition's high watermark (offsets below it exist, apart from records retention removed:
    /// then the sequence starts at the log start, and the caller can tell from the first offset).
    public func records(partition: Int32, from: Int64, to: Int64) -> KafkaPartitionRecords {
        KafkaPartitionRecords(reader: self, partition: partition, from: from, to: to)
    }

    /// Closes the consumer; later reads fail, and so do reads waiting for their turn.
    public func close() async {
        let (consumer, waiters) = state.withLockedValue { state in
            state.closed = true
            defer {
                state.consumer = nil
                state.waiters = []
            }
            return (state.consumer, state.waiters)
        }
        for waiter in waiters { waiter.continuation.resume(throwing: Self.closedError) }
        await consumer?.close()
    }

    static let closedError = KafkaError(code: .destroyed, message: "the partition reader is closed", isRetriable: false)

    /// Takes the turn, then points the consumer at `from`.
    func begin(partition: Int32, from: Int64) async throws -> ReadTurn {
        try await acquire()
        let consumer: KafkaConsumer
        do {
            try Task.checkCancellation()
            consumer = try currentConsumer()
        } catch {
            release()
            throw error
        }
        let turn = ReadTurn(reader: self, consumer: consumer)
        do {
            try await consumer.reassign([KafkaTopicPartition(topic: topic, partition: partition, offset: .exact(from))])
        } catch {
            await turn.end(failure: error)
            throw error
        }
        return turn
    }

    private func currentConsumer() throws -> KafkaConsumer {
        try state.withLockedValue { state in
            if state.closed { throw Self.closedError }
            if let consumer = state.consumer { return consumer }
            let consumer = try KafkaConsumer(configuration: configuration, bufferCapacity: 5000, logger: logger)
            created.add(1, ordering: .relaxed)
            observers.consumerCreated()
            state.consumer = consumer
            return consumer
        }
    }

    /// Forgets `consumer` (it may be unusable) so the next read starts a new one.
    func drop(_ consumer: KafkaConsumer) async {
        let dropped = state.withLockedValue { state in
            guard state.consumer === consumer else { return false }
            state.consumer = nil
            return true
        }
        if dropped { await consumer.close() }
    }

    private func acquire() async throws {
        enum Turn { case now, wait, full, closed }
        let turn = state.withLockedValue { state -> Turn in
            if state.closed { return .closed }
            if !state.busy {
                state.busy = true
                return .now
            }
            return state.waiters.count >= maxWaiting ? .full : .wait
        }
        switch turn {
        case .now: return
        case .closed: throw Self.closedError
        case .full: throw KafkaError(code: .queueFull, message: "\(maxWaiting) reads of \(topic) are already waiting")
        case .wait:
            let id = state.withLockedValue { state in
                defer { state.nextWaiterID += 1 }
                return state.nextWaiterID
            }
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    enum Outcome {
                        case granted, queued
                        case failed(any Error)
                    }
                    let outcome = state.withLockedValue { state -> Outcome in
                        if state.closed { return .failed(Self.closedError) }
                        if Task.isCancelled { return .failed(CancellationError()) }
                        // The running read may have finished in between.
                        if !state.busy {
                            state.busy = true
                            return .granted
                        }
                        state.waiters.append((id, continuation))
                        return .queued
                    }
                    switch outcome {
                    case .granted: continuation.resume()
                    case .queued: break
                    case .failed(let error): continuation.resume(throwing: error)
                    }
                }
            } onCancel: {
                // A cancelled waiter leaves the line at once instead of holding a place in it.
                let removed = state.withLockedValue { state -> CheckedContinuation<Void, any Error>? in
                    guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                    return state.waiters.remove(at: index).continuation
                }
                removed?.resume(throwing: CancellationError())
            }
        }
    }

    /// Hands the turn to the next waiter, or frees it.
    func release() {
        let next = state.withLockedValue { state -> CheckedContinuation<Void, any Error>? in
            guard !state.waiters.isEmpty else {
                state.busy = false
                state.idleSince = .now
                return nil
            }
            return state.waiters.removeFirst().continuation
        }
        next?.resume()
    }

    /// Closes the consumer when no read has run or waited for `duration`; the next read opens a new
    /// one. Readers that serve bursts (catch-ups) call this from their owner's housekeeping, so a
    /// burst does not leave its consumers, each with librdkafka threads, open for good.
    /// - Returns: whether a consumer was closed.
    @discardableResult
    public func closeConsumerIfIdle(for duration: Duration) async -> Bool {
        let idle = state.withLockedValue { state -> KafkaConsumer? in
            guard !state.closed, !state.busy, state.waiters.isEmpty, let consumer = state.consumer,
                let since = state.idleSince, ContinuousClock.now - since >= duration
            else { return nil }
            state.consumer = nil
            return consumer
        }
        guard let idle else { return false }
        await idle.close()
        return true
    }

    /// Reads waiting for their turn (for tests and metrics).
    public var waitingReads: Int { state.withLockedValue { $0.waiters.count } }

    /// Reads running or waiting: how loaded the reader is, to pick one of several.
    public var load: Int { state.withLockedValue { ($0.busy ? 1 : 0) + $0.waiters.count } }
}

/// One read's hold on the reader's turn. Given back exactly once: when the read ends, or when the
/// iterator holding it is dropped early.
final class ReadTurn: Sendable {
    let reader: KafkaPartitionReader
    let consumer: KafkaConsumer
    private let ended = Atomic<Bool>(false)
    private let handed = Atomic<Int>(0)

    init(reader: KafkaPartitionReader, consumer: KafkaConsumer) {
        self.reader = reader
        self.consumer = consumer
    }

    func countHanded() { handed.add(1, ordering: .relaxed) }

    /// Stops fetching (or drops a consumer a failure may have broken), then gives the turn back.
    func end(failure: (any Error)? = nil) async {
        guard ended.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        await finish(failure: failure)
    }

    private func finish(failure: (any Error)?) async {
        reader.observers.recordsRead(handed.load(ordering: .relaxed))
        let keepsConsumer: Bool
        switch failure {
        case nil, is CancellationError: keepsConsumer = true
        case let error as KafkaError: keepsConsumer = error.code == .timedOut
        default: keepsConsumer = false
        }
        if keepsConsumer, !reader.closesAfterEachRead, (try? await consumer.reassign([])) != nil {
            // Idle until the next read reassigns it.
        } else {
            await reader.drop(consumer)
        }
        reader.release()
    }

    deinit {
        guard ended.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return }
        // Dropped before its end (the caller stopped iterating): the next read must not wait for
        // a turn nobody holds. The consumer stops fetching first, so it does not race that read's
        // own assignment.
        let reader = reader
        let consumer = consumer
        let count = handed.load(ordering: .relaxed)
        Task {
            reader.observers.recordsRead(count)
            var stopped = false
            if !reader.closesAfterEachRead { stopped = (try? await consumer.reassign([])) != nil }
            if !stopped { await reader.drop(consumer) }
            reader.release()
        }
    }
}

/// The records of one range of a partition, read through a ``KafkaPartitionReader``: ends after
/// the record before `to`, throws `timedOut` when no record came for the reader's idle timeout.
/// Iterate it from one task; each iteration is a read of its own.
public struct KafkaPartitionRecords: AsyncSequence, Sendable {
    public typealias Element = KafkaRecord

    let reader: KafkaPartitionReader
    public let partition: Int32
    public let from: Int64
    public let to: Int64

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(reader: reader, partition: partition, from: from, to: to)
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let reader: KafkaPartitionReader
        let partition: Int32
        let from: Int64
        let to: Int64
        private var turn: ReadTurn?
        private var batch: [KafkaRecord] = []
        private var index = 0
        private var done = false

        init(reader: KafkaPartitionReader, partition: Int32, from: Int64, to: Int64) {
            self.reader = reader
            self.partition = partition
            self.from = from
            self.to = to
        }

        public mutating func next() async throws -> KafkaRecord? {
            guard !done else { return nil }
            guard from < to else {
                done = true
                return nil
            }
            let turn: ReadTurn
            if let current = self.turn {
                turn = current
            } else {
                do {
                    turn = try await reader.begin(partition: partition, from: from)
                } catch {
                    done = true
                    throw error
                }
                self.turn = turn
            }
            while true {
                while index < batch.count {
                    let record = batch[index]
                    index += 1
                    // Only the new assignment's records arrive after `reassign`; the checks keep
                    // a read correct whatever librdkafka delivers.
                    guard record.topic == reader.topic, record.partition == partition, record.offset >= from else { continue }
                    if record.offset >= to {
                        await finish(turn)
                        return nil
                    }
                    turn.countHanded()
                    if record.offset >= to - 1 { await finish(turn) }
                    return record
                }
                do {
                    batch = try await Self.nextBatch(
                        of: turn.consumer, within: reader.idleTimeout, reading: "\(reader.topic)[\(partition)] offsets \(from)..<\(to)")
                    index = 0
                } catch {
                    done = true
                    self.turn = nil
                    await turn.end(failure: error)
                    throw error
                }
            }
        }

        private mutating func finish(_ turn: ReadTurn) async {
            done = true
            self.turn = nil
            await turn.end()
        }

        /// The consumer's next batch, or `timedOut` when none comes within `timeout`.
        private static func nextBatch(of consumer: KafkaConsumer, within timeout: Duration, reading what: String) async throws -> [KafkaRecord] {
            try await withThrowingTaskGroup(of: [KafkaRecord]?.self) { group in
                group.addTask {
                    var batches = consumer.recordBatches.makeAsyncIterator()
                    guard let batch = try await batches.next() else { throw KafkaPartitionReader.closedError }
                    return batch
                }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    return nil
                }
                defer { group.cancelAll() }
                guard let first = try await group.next(), let batch = first else {
                    throw KafkaError(code: .timedOut, message: "reading \(what): no record for \(timeout)")
                }
                return batch
            }
        }
    }
}
