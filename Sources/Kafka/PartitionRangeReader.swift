import Logging
import Synchronization

/// Reads a range of offsets of one partition: with a consumer of its own (no group) that it then
/// closes, or through a ``SharedPartitionReader`` that keeps one consumer for every read.
///
/// Used for what the fan-out cache does not hold: deep catch-up on `join` with an old `since`
/// (own consumers, so a long catch-up never waits behind other reads), and history pages and
/// author lookups (shared).
public struct PartitionRangeReader: Sendable {
    public let configuration: KafkaConfiguration
    public let topic: String
    /// How long the reader waits for the next record before giving up.
    public var idleTimeout: Duration = .seconds(10)
    /// The long-lived consumer reads go through, if any.
    public let shared: SharedPartitionReader?
    let logger: Logger

    public init(configuration: KafkaConfiguration, topic: String, logger: Logger = Logger(label: "chat.history.reader")) {
        self.configuration = configuration
        self.topic = topic
        self.shared = nil
        self.logger = logger
    }

    /// A reader whose reads share `shared`'s consumer.
    public init(shared: SharedPartitionReader) {
        self.configuration = shared.configuration
        self.topic = shared.topic
        self.shared = shared
        self.logger = shared.logger
    }

    /// Calls `body` with every record of `[from, to)` in offset order. `to` must not exceed the
    /// partition's high watermark (offsets below it exist, apart from records retention removed).
    public func read(partition: Int32, from: Int64, to: Int64, _ body: @escaping @Sendable (KafkaRecord) throws -> Void) async throws {
        guard from < to else { return }
        if let shared { return try await shared.read(partition: partition, from: from, to: to, idleTimeout: idleTimeout, body) }
        let consumer = try KafkaConsumer(configuration: configuration, bufferCapacity: 5000, logger: logger)
        do {
            try await consumer.assign([KafkaTopicPartition(topic: topic, partition: partition, offset: .exact(from))])
            try await withThrowingTaskGroup(of: Void.self) { group in
                let progress = ReadProgress()
                group.addTask {
                    for try await record in consumer.records {
                        progress.touch()
                        if record.offset >= to { return }
                        try body(record)
                        if record.offset >= to - 1 { return }
                    }
                }
                group.addTask { try await progress.failWhenIdle(for: idleTimeout, reading: "\(topic)[\(partition)] offsets \(from)..<\(to)") }
                try await group.next()
                group.cancelAll()
            }
        } catch {
            await consumer.close()
            throw error
        }
        await consumer.close()
    }
}

/// Last time the reader made progress, shared with its watchdog.
final class ReadProgress: Sendable {
    private let last = Mutex(ContinuousClock.now)

    func touch() { last.withLock { $0 = .now } }

    func idle(for duration: Duration) -> Bool { last.withLock { ContinuousClock.now - $0 > duration } }

    /// Throws `timedOut` once no record arrived for `duration`; runs beside a read until cancelled.
    func failWhenIdle(for duration: Duration, reading what: @autoclosure () -> String) async throws {
        while true {
            try await Task.sleep(for: .milliseconds(200))
            if idle(for: duration) {
                throw KafkaError(code: .timedOut, message: "reading \(what()): no record for \(duration)")
            }
        }
    }
}
