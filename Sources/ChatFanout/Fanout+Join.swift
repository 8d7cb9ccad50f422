import ChatDomain
import Kafka

/// Where a join starts, as the `joined` reply tells the client.
public struct JoinOutcome: Sendable, Equatable {
    /// The current end of the room: events after it follow live.
    public var cursor: ChatCursor
    /// False when `since` was from another epoch or older than retained history, so some events
    /// after it cannot be delivered.
    public var recovered: Bool
}

extension Fanout {
    /// Subscribes `subscriber` to `room`. Delivers the `joined` frame first, then every event after
    /// `since` (from the cache or the log), then live events: each event exactly once, in order.
    ///
    /// - Throws: ``FanoutError/unavailable(_:)`` when Kafka cannot be reached,
    ///   ``FanoutError/cursorBeyondEnd(_:)`` when `since` is past the room's end; nothing is subscribed.
    public func join(
        room: RoomName,
        subscriber: any RoomSubscriber,
        since: ChatCursor?,
        joinedFrame: @Sendable (JoinOutcome) -> String
    ) async throws -> JoinOutcome {
        let partition = configuration.partitioner.partition(for: room)
        let state = try await ensureAssigned(partition)
        let end = state.end
        var recovered = true
        var next = end
        if let since {
            if since.epoch == configuration.epoch, since.partition == partition {
                if let resume = since.resumeOffset(end: end) {
                    next = resume
                } else {
                    // This node's fan-out may be behind the broker; only a cursor beyond the
                    // broker's end too is one this log never handed out.
                    guard let resume = since.resumeOffset(end: try await brokerEnd(of: partition)) else {
                        throw FanoutError.cursorBeyondEnd(since)
                    }
                    next = resume
                }
            } else {
                recovered = false
            }
        }
        if next < state.room(room).coveredFrom {
            let low: Int64
            do {
                low = try await admin.watermarks(topic: configuration.roomsTopic, partition: partition, timeout: .seconds(5)).low
            } catch {
                throw FanoutError.unavailable("Kafka is not reachable: \(error)")
            }
            if next < low {
                // What retention deleted survives in the snapshots when the compactor folded it in time.
                let snapshotted = await configuration.snapshots?.covers(partition: partition, from: next, to: low) ?? false
                if !snapshotted {
                    recovered = false
                    next = low
                }
            }
        }
        let outcome = JoinOutcome(cursor: ChatCursor(epoch: configuration.epoch, partition: partition, offset: end - 1), recovered: recovered)
        let roomCache = state.room(room)
        let id = ObjectIdentifier(subscriber)
        roomCache.subscriptions[id] = nil
        var deliveries = DeliveryBatch()
        deliveries.add(WireFrame(json: joinedFrame(outcome)), to: subscriber)
        if next >= roomCache.coveredFrom {
            let subscription = Subscription(subscriber: subscriber, nextOffset: next, phase: .live)
            for event in roomCache.events(from: next) { subscription.deliver(event, into: &deliveries) }
            roomCache.subscriptions[id] = subscription
            deliveries.dispatch()
        } else {
            deliveries.dispatch()
            let subscription = Subscription(subscriber: subscriber, nextOffset: next, phase: .catchingUp(backlog: []))
            roomCache.subscriptions[id] = subscription
            let cachedTail = Array(roomCache.cached)
            let target = roomCache.coveredFrom
            metrics.catchUps.increment()
            let reads = configuration.readLimiter
            Task {
                guard await reads.acquire() else { return self.refuseCatchUp(subscription, room: room, partition: partition) }
                defer { reads.release() }
                await self.catchUp(subscription, room: room, partition: partition, to: target, then: cachedTail)
            }
        }
        return outcome
    }

    /// The node's line of reads is full: the subscriber is told to join again and not caught up.
    private func refuseCatchUp(_ subscription: Subscription, room: RoomName, partition: Int32) {
        let id = ObjectIdentifier(subscription.subscriber)
        let message = "concurrent reads limit reached: too many catch-ups on this node; join \(room) again later"
        deliver(ServerFrame.error(ProtocolError(.limit, message)), to: subscription.subscriber)
        if partitions[partition]?.rooms[room]?.subscriptions[id] === subscription {
            partitions[partition]?.rooms[room]?.subscriptions[id] = nil
        }
    }

    /// Reads `[subscription.nextOffset, target)` of the room from the log, delivers it, then the
    /// cached events and the live backlog, and turns the subscription live.
    private func catchUp(_ subscription: Subscription, room: RoomName, partition: Int32, to target: Int64, then cachedTail: [CachedEvent]) async {
        let id = ObjectIdentifier(subscription.subscriber)
        let fromLog: [CachedEvent]
        do {
            fromLog = try await readRoomEvents(room: room, partition: partition, from: subscription.nextOffset, to: target)
        } catch {
            logger.warning("catch-up from the log failed", metadata: ["room": "\(room)", "error": "\(error)"])
            let message: String
            if case FanoutError.historyTruncated = error {
                // Joining again sees the new log start and answers `recovered: false`.
                message = "retention deleted part of the history of \(room) while you were catching up; join again"
            } else {
                message = "could not read the history of \(room) from Kafka; join again"
            }
            deliver(ServerFrame.error(ProtocolError(.unavailable, message)), to: subscription.subscriber)
            if partitions[partition]?.rooms[room]?.subscriptions[id] === subscription {
                partitions[partition]?.rooms[room]?.subscriptions[id] = nil
            }
            return
        }
        guard let roomCache = partitions[partition]?.rooms[room], roomCache.subscriptions[id] === subscription,
            case .catchingUp(let backlog) = subscription.phase
        else { return }
        var deliveries = DeliveryBatch()
        for event in [fromLog, cachedTail, backlog].joined() { subscription.deliver(event, into: &deliveries) }
        deliveries.dispatch()
        subscription.phase = .live
    }

    /// The room's events in `[from, to)` with the frames subscribers get, judged by the same
    /// duplicate rule as live events (the scan starts `duplicateSpan` earlier to warm the window).
    ///
    /// Events older than the log start come from the history snapshots: each surviving message
    /// once, with its edits folded in, and the edits and deletes of older messages
    /// (``CatchUpSource/catchUp(room:partition:after:low:)``); the log continues where they end.
    func readRoomEvents(room: RoomName, partition: Int32, from: Int64, to: Int64) async throws -> [CachedEvent] {
        var snapshotEvents: [CachedEvent] = []
        var logFrom = from
        var window: [WindowEntry]?
        if let snapshots = configuration.snapshots {
            let low = try await admin.watermarks(topic: configuration.roomsTopic, partition: partition, timeout: .seconds(5)).low
            if from < low {
                let catchUp = try await snapshots.catchUp(room: room, partition: partition, after: from - 1, low: low)
                snapshotEvents = catchUp.events.lazy.filter { $0.offset < to }.map {
                    CachedEvent(
                        logged: $0, frame: ServerFrame.event($0, epoch: self.configuration.epoch).map(WireFrame.init(json:)), duplicateOf: nil)
                }
                logFrom = max(catchUp.logFrom, from)
                window = catchUp.window
            }
        }
        guard logFrom < to else { return snapshotEvents }
        // Without a snapshot window the scan starts `duplicateSpan` earlier to warm a cold one.
        let start = window == nil ? max(0, logFrom - configuration.duplicateSpan) : logFrom
        // Seeded with the room states at its start: a post after its author's ban stays refused.
        let roomStates = try await self.roomStates(partition: partition, before: start)
        let fold = PartitionLogFold(
            partition: partition, from: start, span: configuration.duplicateSpan, window: window ?? [], roomStates: roomStates, rooms: .only(room))
        let read = try await Self.readLog(
            catchUpReader().records(partition: partition, from: start, to: to), fold: fold, from: logFrom, epoch: configuration.epoch)
        if let first = read.firstOffset, first > logFrom {
            // The reader falls back to the log start when its start offset is gone: retention
            // passed `logFrom` after the join checked it. Offsets are contiguous in chat.rooms, so
            // a later first record means events are missing, unless the log start says otherwise
            // (a compacted topic also skips offsets).
            let low = try await admin.watermarks(topic: configuration.roomsTopic, partition: partition, timeout: .seconds(5)).low
            if low > logFrom { throw FanoutError.historyTruncated(from: logFrom, logStart: low) }
        }
        return snapshotEvents + read.events
    }
}

extension Fanout {
    /// The duplicate window at `offset` from the history snapshots (`nil` without snapshots
    /// reaching it), for when retention deleted posts a retry after `offset` could repeat.
    func snapshotWindow(partition: Int32, at offset: Int64) async -> [WindowEntry]? {
        await configuration.snapshots?.window(partition: partition, at: offset, span: configuration.duplicateSpan)
    }
}

extension Fanout {
    /// A catch-up's read of the log: the room's events at or after `from` as the fold judged them,
    /// and the first offset the reader got (to tell whether retention moved the log start past
    /// the requested start while the reader was being set up). Off the actor: folding a long range
    /// must not hold up live events.
    nonisolated static func readLog(_ records: KafkaPartitionRecords, fold initial: PartitionLogFold, from: Int64, epoch: LogEpoch) async throws
        -> (events: [CachedEvent], firstOffset: Int64?)
    {
        var fold = initial
        var events: [CachedEvent] = []
        var firstOffset: Int64?
        for try await record in records {
            if firstOffset == nil { firstOffset = record.offset }
            guard let folded = fold.apply(offset: record.offset, value: record.value), record.offset >= from else { continue }
            events.append(CachedEvent(folded, epoch: epoch))
        }
        return (events, firstOffset)
    }

    /// The least busy of the catch-up readers (as many as catch-ups may run at once, each
    /// consumer created on its first read and kept).
    func catchUpReader() -> KafkaPartitionReader {
        catchUpReaders.min { $0.load < $1.load }!
    }
}
