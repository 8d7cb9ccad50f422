import ChatDomain
import ChatHistory
import Kafka
import Logging
import Synchronization

/// One compaction pass: folds every partition up to the log end it had when the pass started,
/// then stops (`chatctl compact`). Commits under the compactor's group like the continuous one.
public struct CompactionPass: Sendable {
    /// Where the pass is, reported about once a second.
    public struct Progress: Sendable {
        public var records: Int
        public var remaining: Int64
        public var elapsed: Duration
    }

    /// What the pass did.
    public struct Summary: Sendable {
        public var records: Int
        /// Partitions that had records to fold.
        public var partitions: Int
        public var elapsed: Duration
        /// Offset each partition's manifest covers up to afterwards.
        public var coverage: [Int32: Int64]
        public var directory: SnapshotDirectory
    }

    let configuration: CompactorConfiguration
    let admin: KafkaAdmin
    let epoch: LogEpoch?
    let logger: Logger
    /// How long the pass waits for the next record before it gives up.
    public var idleTimeout: Duration = .seconds(15)

    public init(configuration: CompactorConfiguration, admin: KafkaAdmin, epoch: LogEpoch? = nil, logger: Logger = Logger(label: "chat.compactor")) {
        self.configuration = configuration
        self.admin = admin
        self.epoch = epoch
        self.logger = logger
    }

    public func run(progress: @escaping @Sendable (Progress) -> Void = { _ in }) async throws -> Summary {
        let clock = ContinuousClock()
        let started = clock.now
        let epoch: LogEpoch
        if let known = self.epoch {
            epoch = known
        } else {
            epoch = LogEpoch(clusterID: try await admin.clusterID(timeout: .seconds(5)), topic: configuration.topic)
        }
        guard let partitionCount = try await admin.partitionCount(topic: configuration.topic, timeout: .seconds(5)) else {
            throw SnapshotError.historyLost("topic \(configuration.topic) does not exist on this cluster")
        }
        let directory = SnapshotDirectory(root: configuration.snapshotRoot, topic: configuration.topic, epoch: epoch)
        var passConfiguration = configuration
        passConfiguration.policy.maxPendingAge = .seconds(1 << 40)
        var states: [Int32: PartitionCompactor] = [:]
        var targets: [Int32: Int64] = [:]
        defer { for state in states.values { state.release() } }
        for partition in 0..<Int32(partitionCount) {
            let watermarks = try await admin.watermarks(topic: configuration.topic, partition: partition, timeout: .seconds(5))
            let state = try await PartitionCompactor.open(
                partition: partition, directory: directory, configuration: passConfiguration, watermarks: watermarks, logger: logger)
            states[partition] = state
            if max(state.expectedOffset, watermarks.low) < watermarks.high { targets[partition] = watermarks.high }
        }
        let busyPartitions = targets.count
        var records = 0
        if !targets.isEmpty {
            var consumerConfiguration = configuration.kafka
            consumerConfiguration["group.id"] = configuration.groupID
            let consumer = try KafkaConsumer(configuration: consumerConfiguration, bufferCapacity: 20_000, logger: logger)
            do {
                records = try await fold(consumer: consumer, states: states, targets: targets, started: started, progress: progress)
            } catch {
                await consumer.close()
                throw error
            }
            await consumer.close()
        }
        return Summary(
            records: records, partitions: busyPartitions, elapsed: clock.now - started,
            coverage: states.compactMapValues { $0.manifest.coveredEnd }, directory: directory)
    }

    private func fold(
        consumer: KafkaConsumer, states: [Int32: PartitionCompactor], targets: [Int32: Int64], started: ContinuousClock.Instant,
        progress: @escaping @Sendable (Progress) -> Void
    ) async throws -> Int {
        let topic = configuration.topic
        try await consumer.assign(
            targets.keys.sorted().map { KafkaTopicPartition(topic: topic, partition: $0, offset: .exact(states[$0]!.expectedOffset)) })
        let tracker = PassTracker()
        let idleTimeout = self.idleTimeout
        return try await withThrowingTaskGroup(of: Int.self) { group in
            group.addTask {
                var remaining = targets
                var records = 0
                for try await record in consumer.records {
                    tracker.touch()
                    guard let target = remaining[record.partition], record.offset < target, let state = states[record.partition] else { continue }
                    var outcome = state.apply(offset: record.offset, value: record.value)
                    if case .ahead(let expected) = outcome {
                        // The consumer starts at the log start when the manifest ends before it.
                        let low = try await admin.watermarks(topic: topic, partition: record.partition, timeout: .seconds(5)).low
                        guard expected < low else {
                            throw SnapshotError.historyLost("\(topic)[\(record.partition)] skipped from \(expected) to \(record.offset)")
                        }
                        try await commit(consumer, state, try await state.skipLostRecords(to: record.offset))
                        outcome = state.apply(offset: record.offset, value: record.value)
                    }
                    guard outcome == .applied else { continue }
                    records += 1
                    if record.offset == target - 1 {
                        remaining[record.partition] = nil
                        try await commit(consumer, state, try await state.flush())
                        if remaining.isEmpty { return records }
                    } else if state.flushIsDue() {
                        try await commit(consumer, state, try await state.flush())
                    }
                    if tracker.shouldReport() {
                        let left = remaining.reduce(Int64(0)) { $0 + $1.value - (states[$1.key]?.expectedOffset ?? $1.value) }
                        progress(Progress(records: records, remaining: left, elapsed: .now - started))
                    }
                }
                return records
            }
            group.addTask {
                while true {
                    try await Task.sleep(for: .milliseconds(250))
                    if tracker.idle(for: idleTimeout) {
                        throw SnapshotError.historyLost("no record of \(topic) arrived for \(idleTimeout): is the cluster reachable?")
                    }
                }
            }
            let records = try await group.next() ?? 0
            group.cancelAll()
            return records
        }
    }

    private func commit(_ consumer: KafkaConsumer, _ state: PartitionCompactor, _ end: Int64?) async throws {
        guard let end else { return }
        do {
            try await consumer.commit([KafkaTopicPartition(topic: configuration.topic, partition: state.partition, offset: .exact(end))])
        } catch {
            // The manifest, not the committed offset, says where compaction resumes.
            logger.warning("could not commit the compactor's offset", metadata: ["partition": "\(state.partition)", "error": "\(error)"])
        }
        try configuration.crashHook?(.offsetsCommitted, state.partition)
        try await state.collectGarbage()
    }
}

/// Progress of a pass, shared with its watchdog.
final class PassTracker: Sendable {
    private let state = Mutex((last: ContinuousClock.now, reported: ContinuousClock.now))

    func touch() { state.withLock { $0.last = .now } }

    func idle(for duration: Duration) -> Bool { state.withLock { ContinuousClock.now - $0.last > duration } }

    func shouldReport() -> Bool {
        state.withLock { state in
            guard ContinuousClock.now - state.reported >= .seconds(1) else { return false }
            state.reported = .now
            return true
        }
    }
}
