import Kafka
import Logging
import Testing

/// The long-lived partition reader: ranges as async sequences over one consumer, an idle timeout,
/// a turn given back however a read ends, and a bounded line of waiting reads.
@Suite("Partition reader")
struct PartitionReaderTests {
    static func filled(_ cluster: EmbeddedKafkaCluster, count: Int) async throws {
        let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers))
        _ = try await producer.send((0..<count).map { record("t", 0, "\($0)") }).get()
        await producer.close()
    }

    static func reader(_ cluster: EmbeddedKafkaCluster, idleTimeout: Duration = .seconds(10), maxWaiting: Int = 8) -> KafkaPartitionReader {
        KafkaPartitionReader(
            configuration: consumerConfiguration(cluster), topic: "t", idleTimeout: idleTimeout, maxWaiting: maxWaiting,
            logger: Logger(label: "test.reader"))
    }

    static func offsets(_ records: KafkaPartitionRecords) async throws -> [Int64] {
        var offsets: [Int64] = []
        for try await record in records { offsets.append(record.offset) }
        return offsets
    }

    /// Runs `body`, failing the test instead of hanging when it does not finish in `timeout`.
    static func within<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let result = try await group.next()! else {
                throw KafkaError(code: .timedOut, message: "the test's read did not finish in \(timeout)")
            }
            return result
        }
    }

    @Test("A range ends at its end; reads one after another share one consumer")
    func endsAtTo() async throws {
        try await withCluster { cluster in
            try await Self.filled(cluster, count: 20)
            let reader = Self.reader(cluster)
            #expect(try await Self.offsets(reader.records(partition: 0, from: 5, to: 12)) == Array(5..<12))
            #expect(try await Self.offsets(reader.records(partition: 0, from: 0, to: 3)) == [0, 1, 2])
            #expect(try await Self.offsets(reader.records(partition: 0, from: 19, to: 20)) == [19])
            #expect(try await Self.offsets(reader.records(partition: 0, from: 4, to: 4)) == [])
            #expect(reader.consumersCreated == 1)
            await reader.close()
        }
    }

    @Test("An idle reader closes its consumer when asked, never while a read runs, and reopens one for the next read")
    func closesIdleConsumer() async throws {
        try await withCluster { cluster in
            try await Self.filled(cluster, count: 10)
            let reader = Self.reader(cluster)
            #expect(await reader.closeConsumerIfIdle(for: .zero) == false)  // nothing opened yet
            #expect(try await Self.offsets(reader.records(partition: 0, from: 0, to: 4)) == [0, 1, 2, 3])
            #expect(await reader.closeConsumerIfIdle(for: .seconds(60)) == false)  // not idle long enough
            var running = reader.records(partition: 0, from: 0, to: 10).makeAsyncIterator()
            #expect(try await running.next()?.offset == 0)
            #expect(await reader.closeConsumerIfIdle(for: .zero) == false)  // a read holds the turn
            while try await running.next() != nil {}
            #expect(await reader.closeConsumerIfIdle(for: .zero) == true)
            #expect(try await Self.offsets(reader.records(partition: 0, from: 6, to: 9)) == [6, 7, 8])
            #expect(reader.consumersCreated == 2)
            await reader.close()
        }
    }

    @Test("No record for the idle timeout fails the read with timedOut; the next read still works")
    func timesOutOnGap() async throws {
        try await withCluster { cluster in
            try await Self.filled(cluster, count: 10)
            let reader = Self.reader(cluster, idleTimeout: .milliseconds(800))
            var received: [Int64] = []
            do {
                for try await record in reader.records(partition: 0, from: 0, to: 15) { received.append(record.offset) }
                Issue.record("a range past the log end ended without an error")
            } catch let error as KafkaError {
                #expect(error.code == .timedOut)
            }
            #expect(received == Array(0..<10))
            #expect(try await Self.offsets(reader.records(partition: 0, from: 8, to: 10)) == [8, 9])
            #expect(reader.consumersCreated == 1, "a timeout keeps the consumer")
            await reader.close()
        }
    }

    @Test("A read left early gives its turn back, and the next read gets only its own records")
    func earlyBreakReleasesTurn() async throws {
        try await withCluster { cluster in
            try await Self.filled(cluster, count: 50)
            let reader = Self.reader(cluster)
            for try await record in reader.records(partition: 0, from: 0, to: 50) where record.offset == 2 { break }
            let offsets = try await Self.within(.seconds(20)) { try await Self.offsets(reader.records(partition: 0, from: 30, to: 33)) }
            #expect(offsets == [30, 31, 32])
            await reader.close()
        }
    }

    @Test("At most maxWaiting reads wait; a cancelled waiter leaves the line")
    func boundedWaitLine() async throws {
        try await withCluster { cluster in
            try await Self.filled(cluster, count: 10)
            let reader = Self.reader(cluster, maxWaiting: 1)
            let (gate, open) = AsyncStream<Void>.makeStream()
            let (started, signalStarted) = AsyncStream<Void>.makeStream()
            // Holds the turn: reads one record, then waits for the gate.
            let holder = Task {
                var iterator = reader.records(partition: 0, from: 0, to: 10).makeAsyncIterator()
                _ = try await iterator.next()
                signalStarted.yield()
                for await _ in gate { break }
                var rest: [Int64] = []
                while let record = try await iterator.next() { rest.append(record.offset) }
                return rest
            }
            for await _ in started { break }
            let waiting = Task { try await Self.offsets(reader.records(partition: 0, from: 3, to: 5)) }
            while reader.waitingReads < 1 { try await Task.sleep(for: .milliseconds(10)) }
            do {
                _ = try await Self.offsets(reader.records(partition: 0, from: 0, to: 1))
                Issue.record("a read beyond the wait line was queued")
            } catch let error as KafkaError {
                #expect(error.code == .queueFull)
            }
            // A cancelled waiter leaves at once, making room.
            waiting.cancel()
            await #expect(throws: CancellationError.self) { try await waiting.value }
            #expect(reader.waitingReads == 0)
            let second = Task { try await Self.offsets(reader.records(partition: 0, from: 3, to: 5)) }
            while reader.waitingReads < 1 { try await Task.sleep(for: .milliseconds(10)) }
            open.yield()
            #expect(try await holder.value == Array(1..<10))
            #expect(try await Self.within(.seconds(20)) { try await second.value } == [3, 4])
            await reader.close()
        }
    }
}
