import ChatDomain
import ChatFanout
import ChatHistory
import Kafka

/// Turns accepted requests into room events in Kafka and acknowledges them once durable.
struct Ingress: Sendable {
    let producer: KafkaProducer
    let fanout: Fanout
    /// Reads messages the fan-out's cache does not cover (through the node's shared reader).
    let history: LogHistory
    let admin: KafkaAdmin
    /// Who wrote a message the log no longer holds (edits and deletes of old messages).
    let snapshots: SnapshotStore?
    let partitioner: RoomPartitioner
    let epoch: LogEpoch
    let metrics: GatewayMetrics
    let sendTimeout: Duration
    /// Delivered posts on their way to the fan-out's acknowledgement, handed over in batches.
    let acknowledgements = AcknowledgementInbox()

    /// A post on its way: enqueued in order, acknowledged later.
    enum PendingPost: Sendable {
        /// A retry of a post this node has already read: no new event.
        case existing(AcknowledgedPost)
        case produced(KafkaDelivery, started: ContinuousClock.Instant, timestamp: Int64)
    }

    /// Enqueues a post (call in the order the client sent its requests).
    /// The membership rule is checked against the fan-out's state of the room first (a banned,
    /// muted or non-member sender is refused at once); `authority` is `.operator` for the admin
    /// publish API.
    func enqueuePost(
        room: RoomName, user: String, cmid: String, body: String, authority: EventAuthority = .user
    ) async throws(ProtocolError) -> PendingPost {
        let context: (existing: AcknowledgedPost?, state: RoomState?)
        do {
            context = try await fanout.sendContext(room: room, user: user, cmid: cmid)
        } catch {
            throw Self.stateUnavailable(room)
        }
        if let existing = context.existing { return .existing(existing) }
        let timestamp = WallClock.milliseconds()
        let event = RoomEvent(room: room, from: user, timestamp: timestamp, kind: .message(cmid: cmid, body: body), authority: authority)
        try Self.admit(event, state: context.state)
        return .produced(try await enqueue(event), started: .now, timestamp: timestamp)
    }

    /// Waits until the post is durable and read back, and returns what the `ack` reports.
    func acknowledge(_ pending: PendingPost, room: RoomName, user: String, cmid: String) async throws(ProtocolError) -> AcknowledgedPost {
        let result = await withCheckedContinuation { (continuation: CheckedContinuation<Result<AcknowledgedPost, ProtocolError>, Never>) in
            acknowledge(pending, room: room, user: user, cmid: cmid) { continuation.resume(returning: $0) }
        }
        return try result.get()
    }

    /// Calls `completion` once with what the `ack` reports, when the post is durable (its delivery
    /// report under `acks=all`) and this node's fan-out has read it back (so the answer follows the
    /// duplicate rule and the cursor is the record's). It runs on the producer's poll thread or the
    /// fan-out's executor: keep it short and non-blocking. No task or continuation is spent per
    /// post; the fan-out takes the delivered posts in batches (``AcknowledgementInbox``).
    func acknowledge(
        _ pending: PendingPost, room: RoomName, user: String, cmid: String,
        completion: @escaping @Sendable (Result<AcknowledgedPost, ProtocolError>) -> Void
    ) {
        switch pending {
        case .existing(let post):
            completion(.success(post))
        case .produced(let delivery, let started, let timestamp):
            let (fanout, acknowledgements, metrics, sendTimeout) = (fanout, acknowledgements, metrics, sendTimeout)
            delivery.whenComplete { report in
                let position: KafkaPosition
                switch report {
                case .success(let delivered): position = delivered
                case .failure(let error): return completion(.failure(Self.notDelivered(error)))
                }
                metrics.produceLatency.recordNanoseconds(Int64((ContinuousClock.now - started).wholeNanoseconds))
                let request = AcknowledgementRequest(
                    room: room, user: user, cmid: cmid, position: position, timestamp: timestamp,
                    deadline: ContinuousClock.now.advanced(by: sendTimeout)
                ) { read in
                    completion(
                        read.mapError { error in
                            if case .refused(let refusal) = error { return ProtocolError(refusal: refusal, room: room) }
                            return ProtocolError(.unavailable, "the message is stored but could not be confirmed in time; retry with the same cmid")
                        })
                }
                acknowledgements.submit(request, to: fanout)
            }
        }
    }

    /// An edit or delete on its way: enqueued in order, acknowledged later.
    struct PendingChange: Sendable {
        let room: RoomName
        let delivery: KafkaDelivery
        let started: ContinuousClock.Instant
        let timestamp: Int64
    }

    /// Enqueues an edit or delete after checking that the message exists, is not deleted, and
    /// that `user` wrote it (call in the order the client sent its requests).
    /// A delete of another user's message is written on the sender's authority as a moderator,
    /// which the membership rule allows only to the room's owners and moderators.
    func enqueueChange(room: RoomName, user: String, msgId: String, kind: RoomEvent.Kind) async throws(ProtocolError) -> PendingChange {
        let state = try await roomState(room)
        guard let author = try await author(of: msgId, in: room) else {
            throw ProtocolError(.notFound, "no message \(msgId) in room \(room) (it does not exist or was deleted)")
        }
        var authority = EventAuthority.user
        if case .delete = kind, author != user { authority = .moderator }
        guard AmendmentRule.applies(kind, sentBy: user, authority: authority, toMessageBy: author) else {
            throw ProtocolError(.forbidden, "only the author may change message \(msgId)")
        }
        let timestamp = WallClock.milliseconds()
        let event = RoomEvent(room: room, from: user, timestamp: timestamp, kind: kind, authority: authority)
        do throws(ProtocolError) {
            try Self.admit(event, state: state)
        } catch  where authority == .moderator && error == ProtocolError(refusal: .notPermitted, room: room) {
            throw ProtocolError(.forbidden, "only the author, or an owner or moderator of room \(room), may delete message \(msgId)")
        }
        let delivery = try await enqueue(event)
        return PendingChange(room: room, delivery: delivery, started: .now, timestamp: timestamp)
    }

    /// Enqueues a membership change (`create`, `invite`, `kick`, `ban`, `unban`, `mute`, `role`,
    /// a DM's creation, or the admin API's) after checking it with ``MembershipRule`` against the
    /// fan-out's state of the room: the log's fold applies the same rule, and decides only a race.
    /// Acknowledged like an edit (``acknowledge(_:)-(PendingChange)``).
    func enqueueMembership(_ event: RoomEvent) async throws(ProtocolError) -> PendingChange {
        let state = try await roomState(event.room)
        try Self.admit(event, state: state)
        let delivery = try await enqueue(event)
        return PendingChange(room: event.room, delivery: delivery, started: .now, timestamp: event.timestamp)
    }

    /// The membership state of `room` as this node's fan-out folded it (`nil`: never created).
    func roomState(_ room: RoomName) async throws(ProtocolError) -> RoomState? {
        do {
            return try await fanout.roomState(room)
        } catch {
            throw Self.stateUnavailable(room)
        }
    }

    private static func stateUnavailable(_ room: RoomName) -> ProtocolError {
        ProtocolError(.unavailable, "cannot read the membership of room \(room) now: Kafka is not reachable; retry later")
    }

    /// Refuses `event` when ``MembershipRule`` refuses it against `state` (a copy: the fold applies
    /// the event when it reads it back).
    static func admit(_ event: RoomEvent, state: RoomState?) throws(ProtocolError) {
        var copy = state
        guard let refusal = MembershipRule.apply(event, to: &copy, offset: 0) else { return }
        if refusal == .banned, case .membership(let action) = event.kind, let target = action.target,
            state?.isBanned(event.from, at: event.timestamp) != true
        {
            // The target is banned, not the sender (an invite of a banned user).
            throw ProtocolError(.forbidden, "\(target) is banned from room \(event.room); unban them first")
        }
        throw ProtocolError.refused(refusal, room: event.room, state: state, user: event.from)
    }

    /// Waits until the change is durable and, best effort, read by the fan-out (so the session's
    /// next lookup sees it); returns its position and timestamp for the `ack`.
    func acknowledge(_ pending: PendingChange) async throws(ProtocolError) -> (KafkaPosition, Int64) {
        let position = try await durablePosition(pending.delivery, started: pending.started)
        // Durable is what the ack promises; a fan-out that is late only delays what lookups see.
        // Read back in time, the rules' verdict is known: a change the log refused (its sender
        // banned or demoted just before, in log order) is answered with the refusal.
        if let refusal = try? await fanout.refusal(at: position, timeout: sendTimeout) {
            throw ProtocolError(refusal: refusal, room: pending.room)
        }
        return (position, pending.timestamp)
    }

    /// The author of the visible message `msgId` of `room`; `nil` when there is none (never posted,
    /// or deleted). The fan-out's cache answers for the offsets it covers; older ones are read
    /// through the node's shared reader, with the bound of ``LogHistory/message(at:room:partition:watermarks:)``.
    private func author(of msgId: String, in room: RoomName) async throws(ProtocolError) -> String? {
        guard let offset = Int64(msgId), offset >= 0, String(offset) == msgId else { return nil }
        switch await fanout.lookupMessage(room: room, offset: offset) {
        case .visible(let message): return message.from
        case .absent: return nil
        case .unknown: break
        }
        let partition = partitioner.partition(for: room)
        do {
            let watermarks = try await admin.watermarks(topic: ChatTopics.rooms, partition: partition, timeout: .seconds(5))
            guard offset < watermarks.high else { return nil }
            if offset < watermarks.low {
                // Retention removed it from the log; the compacted history still knows its author.
                return try await snapshots?.author(ofMessageAt: offset, room: room, partition: partition)
            }
            return try await history.message(at: offset, room: room, partition: partition, watermarks: watermarks)?.from
        } catch {
            throw ProtocolError(.unavailable, "could not read message \(msgId) from Kafka")
        }
    }

    private func enqueue(_ event: RoomEvent) async throws(ProtocolError) -> KafkaDelivery {
        let record = KafkaProducerRecord(
            topic: ChatTopics.rooms, partition: partitioner.partition(for: event.room), key: Array(event.room.value.utf8),
            value: event.encoded(), timestampMilliseconds: event.timestamp)
        do {
            return try producer.produce(record)
        } catch  where error.code == .queueFull {
            // The queue is bounded in bytes by the memory budget: full, Kafka is not keeping up or
            // not reachable, and waiting would only hold the request (and its client) longer.
            throw ProtocolError(
                .unavailable, "the node's producer queue is full (its memory budget is reached): Kafka is not keeping up; retry later")
        } catch {
            throw ProtocolError(.unavailable, "Kafka is not accepting messages (\(error.code.name)); retry later")
        }
    }

    private func durablePosition(_ delivery: KafkaDelivery, started: ContinuousClock.Instant) async throws(ProtocolError) -> KafkaPosition {
        do {
            let position = try await delivery.position()
            metrics.produceLatency.recordNanoseconds(Int64((ContinuousClock.now - started).wholeNanoseconds))
            return position
        } catch {
            throw Self.notDelivered(error)
        }
    }

    private static func notDelivered(_ error: any Error) -> ProtocolError {
        ProtocolError(.unavailable, "Kafka did not acknowledge the message (\(error)); retry with the same cmid")
    }

    /// Sends a typing or read signal to the room's members (best effort: signals are ephemeral).
    func signal(_ signal: RoomSignal) throws(ProtocolError) {
        let record = KafkaProducerRecord(
            topic: ChatTopics.signals, partition: partitioner.partition(for: signal.room), key: Array(signal.room.value.utf8),
            value: signal.encoded(), timestampMilliseconds: signal.timestamp)
        do {
            _ = try producer.produce(record)
        } catch {
            throw ProtocolError(.unavailable, "Kafka is not accepting signals now; retry later")
        }
    }
}
