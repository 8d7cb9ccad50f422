import ChatDomain
import Kafka

extension Fanout {
    /// Ends the subscriptions of a user a membership change took out of the room (kicked or
    /// banned), on every node that reads the change: a live subscriber has just been handed the
    /// `member` event in the batch, and gets `left` after it; one still catching up gets both now
    /// (what it was catching up on is no longer theirs to read).
    func endSubscriptions(after folded: FoldedEvent, in room: RoomCache, into deliveries: inout DeliveryBatch) {
        guard folded.verdict == .visible, let user = folded.change?.removedUser else { return }
        let name = folded.logged.event.room
        let ended = room.subscriptions.filter { $0.value.subscriber.userID == user }
        guard !ended.isEmpty else { return }
        let memberFrame = ServerFrame.event(folded.logged, epoch: configuration.epoch).map(WireFrame.init(json:))
        let leftFrame = WireFrame(json: ServerFrame.left(id: nil, room: name))
        for (id, subscription) in ended {
            room.subscriptions[id] = nil
            // In the same batch, so after the `member` event a live subscriber was just handed.
            if case .catchingUp = subscription.phase, let memberFrame { deliveries.add(memberFrame, to: subscription.subscriber) }
            deliveries.add(leftFrame, to: subscription.subscriber)
            deliveries.notify(subscription.subscriber, removedFrom: name)
        }
    }

    /// The membership state of `room` as this node's fan-out folded it (`nil`: never created nor
    /// moderated, so public), once the fan-out has read the room's partition up to where the log
    /// ended when the partition was assigned.
    ///
    /// - Throws: ``FanoutError/unavailable(_:)`` when Kafka cannot be reached or the fan-out does
    ///   not catch up within `timeout`.
    public func roomState(_ room: RoomName, timeout: Duration = .seconds(10)) async throws -> RoomState? {
        let state = try await caughtUpPartition(configuration.partitioner.partition(for: room), timeout: timeout)
        return state.fold.state(of: room)
    }

    /// The room states of `partition` just before `offset`, for a fold that starts there.
    public func roomStates(partition: Int32, before offset: Int64, timeout: Duration = .seconds(10)) async throws -> [RoomName: RoomState] {
        let state = try await caughtUpPartition(partition, timeout: timeout)
        return state.journal.states(before: offset)
    }

    /// Waits until the fan-out has read the record at `position`, then tells whether the log's
    /// rules refused it (`nil`: it applied).
    public func refusal(at position: KafkaPosition, timeout: Duration) async throws -> LogRefusal? {
        try await waitUntilRead(position, timeout: timeout)
        return partitions[position.partition]?.refusals[position.offset]
    }

    func caughtUpPartition(_ partition: Int32, timeout: Duration) async throws -> PartitionState {
        let state = try await ensureAssigned(partition)
        if !state.isCaughtUp {
            try await waitUntilRead(KafkaPosition(partition: partition, offset: state.endAtAssignment - 1), timeout: timeout)
        }
        return state
    }
}
