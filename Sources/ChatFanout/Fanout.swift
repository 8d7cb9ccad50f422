import ChatDomain
import Kafka
import Logging
import Metrics
import ServiceLifecycle

/// A gateway node's fan-out: reads the partitions of the rooms its sessions joined and pushes
/// each room's events to the room's subscribers in offset order.
///
/// Partitions are assigned incrementally on first use (no group rebalancing). Each partition keeps
/// a duplicate window and a bounded per-room cache; a join or resume that the cache cannot serve
/// reads the missing range from the log and then switches to live events without gap or duplicate.
public actor Fanout: Service {
    let configuration: FanoutConfiguration
    let consumer: KafkaConsumer
    let admin: KafkaAdmin
    /// Long-lived readers for catch-ups from the log, one per catch-up that may run at once.
    let catchUpReaders: [KafkaPartitionReader]
    let logger: Logger
    let metrics: FanoutMetrics
    var partitions: [Int32: PartitionState] = [:]
    private var assignments: [Int32: Task<Void, any Error>] = [:]

    public init(configuration: FanoutConfiguration, admin: KafkaAdmin, metricsFactory: any MetricsFactory, logger: Logger) throws {
        var consumerConfiguration = configuration.kafka
        consumerConfiguration["group.id"] = configuration.groupID
        self.configuration = configuration
        self.consumer = try KafkaConsumer(configuration: consumerConfiguration, bufferCapacity: 20_000, logger: logger)
        self.admin = admin
        self.catchUpReaders = (0..<max(1, configuration.readLimiter.maxRunning)).map { _ in
            KafkaPartitionReader(configuration: configuration.kafka, topic: configuration.roomsTopic, logger: logger)
        }
        self.logger = logger
        self.metrics = FanoutMetrics(factory: metricsFactory)
    }

    /// Reads and dispatches until graceful shutdown or cancellation, then closes the consumer.
    public func run() async throws {
        if configuration.assignAllPartitions { await assignAll() }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.consumeRecords() }
            group.addTask { await self.runHousekeeping() }
            try? await gracefulShutdown()
            group.cancelAll()
        }
        await commitPositions()
        await consumer.close()
        for reader in catchUpReaders { await reader.close() }
        for state in partitions.values {
            for waiter in state.waiters.removeAll() { waiter.resume(throwing: FanoutError.shuttingDown) }
        }
    }

    private func consumeRecords() async {
        do {
            for try await batch in consumer.recordBatches {
                // A bounded slice per hand-over keeps the first delivery of a long backlog prompt.
                var start = batch.startIndex
                while start < batch.endIndex {
                    let end = min(start + Self.recordsPerDispatch, batch.endIndex)
                    process(batch[start..<end])
                    start = end
                }
            }
        } catch is CancellationError {
        } catch {
            logger.error("fan-out consumer stopped", metadata: ["error": "\(error)"])
        }
    }

    private func runHousekeeping() async {
        var sinceCommit = Duration.zero
        let tick = Duration.milliseconds(100)
        while !Task.isCancelled {
            do { try await Task.sleep(for: tick) } catch { return }
            expireWaiters()
            sinceCommit += tick
            if sinceCommit >= configuration.commitInterval {
                sinceCommit = .zero
                await commitPositions()
                updateLagMetrics()
                // A burst of catch-ups opens up to one consumer per reader; idle ones close again.
                for reader in catchUpReaders { await reader.closeConsumerIfIdle(for: Self.catchUpReaderIdleClose) }
            }
        }
    }

    /// How long a catch-up reader keeps its consumer open with nothing to read.
    static let catchUpReaderIdleClose = Duration.seconds(30)

    /// Records handled per hand-over to the event loops.
    static let recordsPerDispatch = 1024

    /// Processes consumed records, then hands each event loop its deliveries at once and only then
    /// resumes the offsets' waiters, so a sender's `ack` follows the event it acknowledges.
    func process(_ records: ArraySlice<KafkaRecord>) {
        var deliveries = DeliveryBatch()
        var resolved: [ResolvedWaiter] = []
        for record in records {
            if record.topic == configuration.signalsTopic {
                processSignal(record, into: &deliveries)
            } else if let state = process(record, into: &deliveries) {
                takeResolvedWaiters(state, into: &resolved)
            }
        }
        metrics.messagesOut.increment(by: Int64(deliveries.count))
        deliveries.dispatch()
        for waiter in resolved { waiter.resume() }
    }

    /// Processes one room record; returns its partition's state when the position moved.
    private func process(_ record: KafkaRecord, into deliveries: inout DeliveryBatch) -> PartitionState? {
        guard let state = partitions[record.partition] else { return nil }
        if record.offset < state.position { return nil }
        defer { state.position = record.offset + 1 }
        if record.offset < state.warmFrom {
            // Before the window the fan-out serves from: only room states matter, and nobody
            // subscribed has a cursor there (joins start at the end).
            if let folded = state.fold.applyMembership(offset: record.offset, value: record.value), folded.verdict == .visible {
                state.journal.append(folded.logged)
            }
            return state
        }
        guard let folded = state.fold.apply(offset: record.offset, value: record.value) else {
            logger.debug("skipping a record that is not a room event", metadata: ["offset": "\(record.offset)"])
            return state
        }
        switch folded.verdict {
        case .refused(let refusal): state.refusals.record(refusal, at: record.offset)
        case .visible where folded.change.map(\.isMembership) == true: state.journal.append(folded.logged)
        default: break
        }
        let cached = CachedEvent(folded, epoch: configuration.epoch)
        let room = state.room(folded.logged.event.room)
        room.append(cached)
        guard !room.subscriptions.isEmpty else { return state }
        defer { endSubscriptions(after: folded, in: room, into: &deliveries) }
        var overflowed: [any RoomSubscriber] = []
        for subscription in room.subscriptions.values {
            switch subscription.phase {
            case .live:
                subscription.deliver(cached, into: &deliveries)
            case .catchingUp(var backlog):
                if backlog.count >= configuration.catchUpBacklogLimit {
                    overflowed.append(subscription.subscriber)
                } else {
                    // Not kept in the phase while appending: the array stays uniquely referenced.
                    subscription.phase = .live
                    backlog.append(cached)
                    subscription.phase = .catchingUp(backlog: backlog)
                }
            }
        }
        for subscriber in overflowed {
            dropSubscriber(ObjectIdentifier(subscriber))
            subscriber.eventLoop.execute { subscriber.cannotKeepUp() }
        }
        return state
    }

    /// Sends one frame to one subscriber (replies the fan-out owes outside a batch).
    func deliver(_ json: String, to subscriber: any RoomSubscriber) {
        var deliveries = DeliveryBatch()
        deliveries.add(WireFrame(json: json), to: subscriber)
        deliveries.dispatch()
    }

    /// Forgets a subscriber that is gone or too slow, in every room.
    func dropSubscriber(_ id: ObjectIdentifier) {
        for state in partitions.values {
            for room in state.rooms.values { room.subscriptions[id] = nil }
        }
    }

    /// Stops delivering `room` to `subscriber`.
    public func leave(room: RoomName, subscriber: any RoomSubscriber) {
        let partition = configuration.partitioner.partition(for: room)
        partitions[partition]?.rooms[room]?.subscriptions[ObjectIdentifier(subscriber)] = nil
    }

    /// Stops delivering anything to `subscriber` (its session ended).
    public func leaveAll(subscriber: any RoomSubscriber) {
        dropSubscriber(ObjectIdentifier(subscriber))
    }

    /// Makes sure the partition is assigned, reading from `duplicateSpan` offsets before its end so
    /// the duplicate window and caches are warm. Concurrent callers share one assignment.
    func ensureAssigned(_ partition: Int32) async throws -> PartitionState {
        if let state = partitions[partition] { return state }
        if let pending = assignments[partition] {
            try await pending.value
        } else {
            let task = Task { try await self.assign(partition) }
            assignments[partition] = task
            do {
                try await task.value
                assignments[partition] = nil
            } catch {
                assignments[partition] = nil
                throw error
            }
        }
        guard let state = partitions[partition] else { throw FanoutError.unavailable("partition \(partition) is not assigned") }
        return state
    }

    /// Assigns every room partition up front, so no join waits for a partition's first fetch and
    /// readiness means "caught up on every room". Failures are retried lazily by joins.
    private func assignAll() async {
        await withTaskGroup(of: Void.self) { group in
            for partition in 0..<configuration.partitioner.partitionCount {
                group.addTask { try? await self.prepare(partition: partition) }
            }
        }
    }

    func prepare(partition: Int32) async throws {
        _ = try await ensureAssigned(partition)
    }

    private func assign(_ partition: Int32) async throws {
        let watermarks: KafkaWatermarks
        do {
            watermarks = try await admin.watermarks(topic: configuration.roomsTopic, partition: partition, timeout: .seconds(5))
        } catch {
            throw FanoutError.unavailable("Kafka is not reachable: \(error)")
        }
        // Room states are a fold of every membership event the partition ever had: the snapshots
        // hold those before their end, the log the rest. A source that cannot be read now must not
        // be taken for "no members" (a private room would open to everyone).
        let seed: MembershipSeed?
        do {
            seed = try await configuration.snapshots?.membership(partition: partition)
        } catch {
            throw FanoutError.unavailable("the history snapshots cannot be read: \(error)")
        }
        let journal = MembershipJournal(partition: partition, events: seed?.events ?? [])
        let start = Self.foldStart(low: watermarks.low, high: watermarks.high, span: configuration.duplicateSpan, membershipKnownTo: seed?.to)
        if let known = seed?.to, known < watermarks.low {
            logger.warning(
                "retention deleted records the snapshots never folded: membership changes among them are lost; keep the compactor running",
                metadata: ["partition": "\(partition)", "snapshotEnd": "\(known)", "logStart": "\(watermarks.low)"])
        }
        // Retention cut into the span the window warms from: the snapshots still know those posts.
        var window: [WindowEntry] = []
        if start == watermarks.low, watermarks.low > 0, let snapshotted = await snapshotWindow(partition: partition, at: start) {
            window = snapshotted
        }
        let state = PartitionState(
            partition: partition, start: start, end: watermarks.high, duplicateSpan: configuration.duplicateSpan, window: window, journal: journal,
            cachedEventsPerRoom: configuration.cachedEventsPerRoom, cachedRooms: configuration.cachedRoomsPerPartition)
        // Signals are ephemeral: only those sent from now on matter. The end is resolved here, not
        // left to librdkafka's lazy OFFSET_END, so a signal sent right after a join is not skipped.
        let signalsEnd = (try? await admin.watermarks(topic: configuration.signalsTopic, partition: partition, timeout: .seconds(5)).high)
        try await consumer.incrementalAssign([
            KafkaTopicPartition(topic: configuration.roomsTopic, partition: partition, offset: .exact(start)),
            KafkaTopicPartition(topic: configuration.signalsTopic, partition: partition, offset: signalsEnd.map { .exact($0) } ?? .end),
        ])
        partitions[partition] = state
        logger.info("fan-out assigned partition", metadata: ["partition": "\(partition)", "start": "\(start)", "end": "\(watermarks.high)"])
    }

    /// Where a partition's fold starts: `span` before the end (to warm the duplicate window), or
    /// earlier where the membership events are known only from the log (the snapshots end before,
    /// or there are none): every one of those must be folded before the room states are current.
    static func foldStart(low: Int64, high: Int64, span: Int64, membershipKnownTo known: Int64?) -> Int64 {
        let warm = max(low, high - span)
        guard let known else { return low }
        return max(low, min(warm, known))
    }

    private func commitPositions() async {
        let offsets = partitions.values.map {
            KafkaTopicPartition(topic: configuration.roomsTopic, partition: $0.partition, offset: .exact($0.position))
        }
        do {
            try await consumer.commit(offsets, waitForBroker: false)
        } catch {
            logger.debug("fan-out commit failed", metadata: ["error": "\(error)"])
        }
    }

    private func updateLagMetrics() {
        for state in partitions.values {
            guard let watermarks = consumer.cachedWatermarks(topic: configuration.roomsTopic, partition: state.partition) else { continue }
            metrics.lag(partition: state.partition).record(max(0, watermarks.high - state.position))
        }
    }

    /// Messages the fan-out has yet to process, over all assigned partitions (for readiness).
    public func totalLag() -> Int64 {
        partitions.values.reduce(0) { total, state in
            guard let watermarks = consumer.cachedWatermarks(topic: configuration.roomsTopic, partition: state.partition) else { return total }
            return total + max(0, watermarks.high - state.position)
        }
    }

    public var assignedPartitions: [Int32] { partitions.keys.sorted() }
}

/// Why the fan-out could not do what was asked.
public enum FanoutError: Error, Sendable, Equatable {
    /// Kafka could not be reached or did not answer in time; nothing was changed.
    case unavailable(String)
    case shuttingDown
    /// A catch-up read found the log start past where it had to begin: those events are gone.
    case historyTruncated(from: Int64, logStart: Int64)
    /// A cursor of this log past the partition's end: no reply ever carried it.
    case cursorBeyondEnd(ChatCursor)
    /// The log's rules refused the event when the fan-out read it (see ``LogRefusal``).
    case refused(LogRefusal)
}
