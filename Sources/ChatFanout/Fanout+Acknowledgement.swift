import ChatDomain
import Kafka

/// The visible post a send resolves to: its id, cursor and time.
public struct AcknowledgedPost: Sendable, Equatable {
    public var msgId: String
    public var cursor: ChatCursor
    public var timestamp: Int64
}

extension Fanout {
    /// The visible post that a send of (room, user, cmid) would repeat, if this node has read it.
    public func existingPost(room: RoomName, user: String, cmid: String) -> AcknowledgedPost? {
        let partition = configuration.partitioner.partition(for: room)
        guard let state = partitions[partition] else { return nil }
        guard let original = state.fold.original(room: room, user: user, cmid: cmid, appendedAt: state.position) else { return nil }
        return post(original, partition: partition)
    }

    /// Answers each request once the fan-out has read its record (at once when it has), with the
    /// visible post it resolves to under the duplicate rule (itself, or the earlier post it
    /// repeats: every node reading the log reaches the same answer), calling its completion on
    /// this actor.
    ///
    /// Sends arrive here in batches (the gateway's `AcknowledgementInbox`): one actor hop for all
    /// the delivery reports that came in meanwhile, and no task or continuation per send. A
    /// request for a partition that is not assigned yet (the HTTP publish API has no joined
    /// session) waits for the assignment in a task of its own.
    public func acknowledge(_ requests: [AcknowledgementRequest]) {
        for request in requests {
            guard let state = partitions[request.position.partition] else {
                Task { await self.acknowledgeAfterAssigning(request) }
                continue
            }
            admit(request, state)
        }
    }

    /// ``acknowledge(_:)`` with the requests `take` returns once on this actor, so that a batch
    /// also holds what was queued while the call waited for the actor.
    public func acknowledge(taking take: @Sendable () -> [AcknowledgementRequest]) {
        acknowledge(take())
    }

    private func acknowledgeAfterAssigning(_ request: AcknowledgementRequest) async {
        do {
            admit(request, try await ensureAssigned(request.position.partition))
        } catch let error as FanoutError {
            request.completion(.failure(error))
        } catch {
            request.completion(.failure(.unavailable("\(error)")))
        }
    }

    private func admit(_ request: AcknowledgementRequest, _ state: PartitionState) {
        if state.position > request.position.offset {
            request.completion(resolvedPost(request, state))
        } else {
            state.waiters.insert(offset: request.position.offset, deadline: request.deadline, waiter: .acknowledgement(request))
        }
    }

    /// The post a request resolves to, once its record is processed: the earlier post it repeats,
    /// or itself; or the refusal of the log's rules (a send that follows its author's ban in the
    /// log is not acknowledged: nobody will ever see it).
    private func resolvedPost(_ request: AcknowledgementRequest, _ state: PartitionState) -> Result<AcknowledgedPost, FanoutError> {
        if let refusal = state.refusals[request.position.offset] { return .failure(.refused(refusal)) }
        if let original = state.fold.original(room: request.room, user: request.user, cmid: request.cmid), original.offset <= request.position.offset
        {
            return .success(post(original, partition: state.partition))
        }
        return .success(post(.init(offset: request.position.offset, timestamp: request.timestamp), partition: state.partition))
    }

    /// Assigns the room's partition if needed (the HTTP publish API has no joined session).
    public func prepare(room: RoomName) async throws {
        _ = try await ensureAssigned(configuration.partitioner.partition(for: room))
    }

    private func post(_ original: DuplicateWindow.Original, partition: Int32) -> AcknowledgedPost {
        AcknowledgedPost(
            msgId: String(original.offset),
            cursor: ChatCursor(epoch: configuration.epoch, partition: partition, offset: original.offset),
            timestamp: original.timestamp)
    }

    /// Takes the waiters the partition's position has passed, each with its answer decided now,
    /// while the duplicate window holds exactly the records up to it: later records of the batch
    /// could push an original out of the window. The caller resumes them after the hand-over.
    func takeResolvedWaiters(_ state: PartitionState, into resolved: inout [ResolvedWaiter]) {
        for waiter in state.waiters.removeProcessed(before: state.position) {
            switch waiter {
            case .task(let continuation): resolved.append(.task(continuation))
            case .acknowledgement(let request): resolved.append(.acknowledgement(request, resolvedPost(request, state)))
            }
        }
    }

    func expireWaiters() {
        let now = ContinuousClock.now
        for state in partitions.values {
            for (offset, waiter) in state.waiters.removeExpired(at: now) {
                waiter.resume(throwing: FanoutError.unavailable("the fan-out has not read offset \(offset) yet"))
            }
        }
    }

    /// The author of a visible message, if the room's cache holds it.
    public func cachedMessage(room: RoomName, msgId: String) -> ChatMessage? {
        let partition = configuration.partitioner.partition(for: room)
        return partitions[partition]?.rooms[room]?.timeline(room: room).message(id: msgId)
    }

    /// Waits until the fan-out has read the record at `position`, so its cache reflects it.
    public func waitUntilRead(_ position: KafkaPosition, timeout: Duration) async throws {
        let state = try await ensureAssigned(position.partition)
        guard state.position <= position.offset else { return }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            state.waiters.insert(offset: position.offset, deadline: ContinuousClock.now.advanced(by: timeout), waiter: .task(continuation))
        }
    }

    /// What the cache says of the message posted at `offset` in `room`: visible (edits applied),
    /// absent (never posted there, or deleted), or unknown when the cache does not cover the offset.
    public func lookupMessage(room: RoomName, offset: Int64) -> CachedMessageLookup {
        let partition = configuration.partitioner.partition(for: room)
        guard let state = partitions[partition], offset < state.position else { return .unknown }
        let roomCache = state.rooms[room]
        guard offset >= roomCache?.coveredFrom ?? state.uncachedRoomsCoveredFrom else { return .unknown }
        guard let message = roomCache?.timeline(room: room).message(id: String(offset)) else { return .absent }
        return .visible(message)
    }
}

/// The answer of ``Fanout/lookupMessage(room:offset:)``.
public enum CachedMessageLookup: Sendable, Equatable {
    case visible(ChatMessage)
    case absent
    case unknown
}
