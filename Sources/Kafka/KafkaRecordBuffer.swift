import Foundation

/// A bounded hand-over from a consumer's poll thread to the Swift task reading records.
///
/// The poll thread blocks (it is a thread of its own) while the buffer is full, so a slow reader
/// slows fetching instead of growing memory. The reader suspends while it is empty.
final class KafkaRecordBuffer: @unchecked Sendable {
    enum PushResult { case pushed, full, closed }

    private let condition = NSCondition()
    private var records: [KafkaRecord] = []
    private var head = 0
    private let capacity: Int
    private var finished = false
    private var failure: KafkaError?
    private var waiter: CheckedContinuation<KafkaRecord?, any Error>?

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
    }

    private var count: Int { records.count - head }

    /// Called on the poll thread: waits up to `timeout` for room, then appends all of `batch`.
    func push(_ batch: [KafkaRecord], waitingUpTo timeout: TimeInterval) -> PushResult {
        condition.lock()
        if finished {
            condition.unlock()
            return .closed
        }
        if count >= capacity {
            _ = condition.wait(until: Date(timeIntervalSinceNow: timeout))
            if finished {
                condition.unlock()
                return .closed
            }
            if count >= capacity {
                condition.unlock()
                return .full
            }
        }
        if head > 4096 && head * 2 > records.count {
            records.removeFirst(head)
            head = 0
        }
        records.append(contentsOf: batch)
        let resumed = takeWaiterLocked()
        condition.unlock()
        resumed?.0.resume(returning: resumed?.1)
        return .pushed
    }

    private func takeWaiterLocked() -> (CheckedContinuation<KafkaRecord?, any Error>, KafkaRecord)? {
        guard let waiter, count > 0 else { return nil }
        self.waiter = nil
        return (waiter, popLocked())
    }

    private func popLocked() -> KafkaRecord {
        let record = records[head]
        head += 1
        if count < capacity { condition.signal() }
        return record
    }

    /// Ends the sequence after what is buffered; with an error, the reader gets it after the buffer drains.
    func finish(error: KafkaError? = nil) {
        condition.lock()
        finished = true
        failure = failure ?? error
        let waiter = self.waiter
        self.waiter = nil
        let failure = self.failure
        condition.broadcast()
        condition.unlock()
        if let waiter {
            if let failure { waiter.resume(throwing: failure) } else { waiter.resume(returning: nil) }
        }
    }

    /// Drops every buffered record (the reader asked for another assignment).
    func removeAll() {
        condition.lock()
        records.removeAll(keepingCapacity: true)
        head = 0
        condition.broadcast()
        condition.unlock()
    }

    /// Takes everything buffered with one lock (waiting while empty); `[]` at the end.
    func nextBatch() async throws -> [KafkaRecord] {
        if let batch = takeAll() { return batch }
        guard let first = try await next() else { return [] }
        return [first]
    }

    private func takeAll() -> [KafkaRecord]? {
        condition.lock()
        defer { condition.unlock() }
        guard count > 0 else { return nil }
        let batch = Array(records[head...])
        records.removeAll(keepingCapacity: true)
        head = 0
        condition.broadcast()
        return batch
    }

    func next() async throws -> KafkaRecord? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                condition.lock()
                if count > 0 {
                    let record = popLocked()
                    condition.unlock()
                    continuation.resume(returning: record)
                } else if finished {
                    let failure = self.failure
                    condition.unlock()
                    if let failure { continuation.resume(throwing: failure) } else { continuation.resume(returning: nil) }
                } else if Task.isCancelled {
                    condition.unlock()
                    continuation.resume(throwing: CancellationError())
                } else {
                    waiter = continuation
                    condition.unlock()
                }
            }
        } onCancel: {
            condition.lock()
            let waiter = self.waiter
            self.waiter = nil
            condition.unlock()
            waiter?.resume(throwing: CancellationError())
        }
    }
}

/// The records of a consumer, in the order librdkafka fetched them (per partition: offset order).
public struct KafkaRecordSequence: AsyncSequence, Sendable {
    public typealias Element = KafkaRecord
    let buffer: KafkaRecordBuffer

    public struct AsyncIterator: AsyncIteratorProtocol {
        let buffer: KafkaRecordBuffer
        var local: [KafkaRecord] = []
        var index = 0

        public mutating func next() async throws -> KafkaRecord? {
            if index == local.count {
                local = try await buffer.nextBatch()
                index = 0
                if local.isEmpty { return nil }
            }
            defer { index += 1 }
            return local[index]
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(buffer: buffer) }
}

/// The records of a consumer in the batches the poll thread handed over (each in fetch order), so
/// a reader can do per-batch work once (a fan-out flushes its connections once per batch).
public struct KafkaRecordBatchSequence: AsyncSequence, Sendable {
    public typealias Element = [KafkaRecord]
    let buffer: KafkaRecordBuffer

    public struct AsyncIterator: AsyncIteratorProtocol {
        let buffer: KafkaRecordBuffer

        public mutating func next() async throws -> [KafkaRecord]? {
            let batch = try await buffer.nextBatch()
            return batch.isEmpty ? nil : batch
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(buffer: buffer) }
}
