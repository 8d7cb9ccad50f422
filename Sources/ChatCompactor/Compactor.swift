import ChatDomain
import ChatHistory
import Kafka
import Logging
import Metrics
import ServiceLifecycle

/// The continuous compactor: a member of consumer group `chat-compactor` that folds the
/// partitions it is assigned into snapshot segments and commits its offsets only once the
/// manifest covering them is durable.
///
/// Where a partition resumes is decided by its manifest, not by the committed offset: on
/// assignment the consumer is sought to the manifest's end. Records, ticks and rebalances are
/// handled one at a time, so a partition's fold is never touched by two tasks.
public actor Compactor: Service {
    let configuration: CompactorConfiguration
    let consumer: KafkaConsumer
    let admin: KafkaAdmin
    let logger: Logger
    let metrics: CompactorMetrics
    private var directory: SnapshotDirectory?
    private var partitions: [Int32: PartitionCompactor] = [:]
    private var assigned: Set<Int32> = []
    private var retryAt: [Int32: ContinuousClock.Instant] = [:]
    private var lastSeek: [Int32: (offset: Int64, at: ContinuousClock.Instant)] = [:]
    private var busy = false
    private var waiters: [CheckedContinuation<Void, Never>] = []

    /// - Parameter epoch: the log's epoch when the caller knows it (else asked of the cluster).
    public init(
        configuration: CompactorConfiguration, admin: KafkaAdmin, epoch: LogEpoch? = nil, metricsFactory: any MetricsFactory,
        logger: Logger
    ) throws {
        var consumerConfiguration = configuration.kafka
        consumerConfiguration["group.id"] = configuration.groupID
        self.configuration = configuration
        self.consumer = try KafkaConsumer(configuration: consumerConfiguration, bufferCapacity: 20_000, logger: logger)
        self.admin = admin
        self.logger = logger
        self.metrics = CompactorMetrics(factory: metricsFactory)
        self.directory = epoch.map { SnapshotDirectory(root: configuration.snapshotRoot, topic: configuration.topic, epoch: $0) }
    }

    /// Partitions this compactor currently writes, with the offset their manifests cover up to.
    public func coverage() -> [Int32: Int64] {
        partitions.mapValues { $0.manifest.coveredEnd ?? -1 }
    }

    public func run() async throws {
        do {
            try await start()
        } catch {
            logger.error("the compactor cannot start", metadata: ["error": "\(error)"])
            await consumer.close()
            throw error
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.consumeRecords() }
            group.addTask { await self.followRebalances() }
            group.addTask { await self.tick() }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        await finish()
    }

    private func start() async throws {
        if directory == nil {
            let clusterID = try await admin.clusterID()
            directory = SnapshotDirectory(
                root: configuration.snapshotRoot, topic: configuration.topic, epoch: LogEpoch(clusterID: clusterID, topic: configuration.topic))
        }
        try await consumer.subscribe(topics: [configuration.topic])
        logger.info("compactor started", metadata: ["snapshots": "\(directory!.logDirectory)", "group": "\(configuration.groupID)"])
    }

    private func consumeRecords() async {
        do {
            for try await record in consumer.records {
                await serially { await self.process(record) }
            }
        } catch is CancellationError {
        } catch {
            logger.error("compactor consumer stopped", metadata: ["error": "\(error)"])
        }
    }

    private func followRebalances() async {
        for await change in consumer.rebalances {
            await serially {
                switch change {
                case .assigned(let list):
                    for entry in list { self.assigned.insert(entry.partition) }
                    for entry in list { await self.open(entry.partition) }
                case .revoked(let list):
                    for entry in list {
                        self.assigned.remove(entry.partition)
                        self.partitions.removeValue(forKey: entry.partition)?.release()
                    }
                }
            }
        }
    }

    private func tick() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: .milliseconds(200)) } catch { return }
            await serially {
                let now = ContinuousClock.now
                for partition in self.assigned where self.partitions[partition] == nil && (self.retryAt[partition] ?? now) <= now {
                    await self.open(partition)
                }
                for state in self.partitions.values where state.flushIsDue(now: now) {
                    await self.flushAndCommit(state)
                }
            }
        }
    }

    private func open(_ partition: Int32) async {
        guard partitions[partition] == nil, let directory else { return }
        do {
            let watermarks = try await admin.watermarks(topic: configuration.topic, partition: partition, timeout: .seconds(5))
            let state = try await PartitionCompactor.open(
                partition: partition, directory: directory, configuration: configuration, watermarks: watermarks, logger: logger)
            partitions[partition] = state
            retryAt[partition] = nil
            try await consumer.seek([KafkaTopicPartition(topic: configuration.topic, partition: partition, offset: .exact(state.expectedOffset))])
            logger.info("compactor owns partition", metadata: ["partition": "\(partition)", "from": "\(state.expectedOffset)"])
        } catch {
            if let state = partitions.removeValue(forKey: partition) { state.release() }
            retryAt[partition] = .now + .seconds(2)
            logger.error("compactor cannot open partition; retrying", metadata: ["partition": "\(partition)", "error": "\(error)"])
        }
    }

    private func process(_ record: KafkaRecord) async {
        guard assigned.contains(record.partition), let state = partitions[record.partition] else { return }
        switch state.apply(offset: record.offset, value: record.value) {
        case .applied:
            metrics.records.increment()
            if state.flushIsDue() { await flushAndCommit(state) }
        case .skipped:
            break
        case .ahead(let expected):
            let low = try? await admin.watermarks(topic: configuration.topic, partition: record.partition, timeout: .seconds(5)).low
            if let low, expected < low {
                await run(state) { _ = try await state.skipLostRecords(to: record.offset) }
                if partitions[record.partition] === state { _ = state.apply(offset: record.offset, value: record.value) }
            } else {
                // A record fetched before the seek to the manifest's end: ask for the right one again
                // (once per second at most: records buffered before the seek still arrive).
                let now = ContinuousClock.now
                if let last = lastSeek[record.partition], last.offset == expected, now - last.at < .seconds(1) { return }
                lastSeek[record.partition] = (expected, now)
                try? await consumer.seek([KafkaTopicPartition(topic: configuration.topic, partition: record.partition, offset: .exact(expected))])
            }
        }
    }

    private func flushAndCommit(_ state: PartitionCompactor) async {
        await run(state) { _ = try await state.flush() }
    }

    /// Runs a step that may write; on failure the partition's state is dropped and reopened from
    /// its manifest later (what a crash would do).
    private func run(_ state: PartitionCompactor, _ step: () async throws -> Void) async {
        let before = state.manifest.coveredEnd
        do {
            try await step()
            if let end = state.manifest.coveredEnd, end != before {
                metrics.segments.increment()
                metrics.covered(partition: state.partition).record(end)
                try await consumer.commit([KafkaTopicPartition(topic: configuration.topic, partition: state.partition, offset: .exact(end))])
                try configuration.crashHook?(.offsetsCommitted, state.partition)
                try await state.collectGarbage()
            }
        } catch {
            metrics.failures.increment()
            logger.error(
                "compaction step failed; the partition restarts from its manifest",
                metadata: ["partition": "\(state.partition)", "error": "\(error)"])
            if partitions[state.partition] === state { partitions[state.partition] = nil }
            state.release()
            retryAt[state.partition] = .now + .seconds(2)
        }
    }

    /// On shutdown: what is folded is written and committed, so the next run starts there.
    private func finish() async {
        await serially {
            for state in self.partitions.values {
                await self.flushAndCommit(state)
                state.release()
            }
            self.partitions.removeAll()
        }
        await consumer.close()
    }

    /// One operation at a time: the actor alone would interleave them at every suspension.
    private func serially(_ body: () async -> Void) async {
        if busy {
            await withCheckedContinuation { waiters.append($0) }
        } else {
            busy = true
        }
        await body()
        if waiters.isEmpty {
            busy = false
        } else {
            waiters.removeFirst().resume()
        }
    }
}
