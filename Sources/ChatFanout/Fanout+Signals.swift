import ChatDomain
import Kafka

extension Fanout {
    /// Delivers a typing or read signal to the room's live subscribers, except the user who sent it.
    func processSignal(_ record: KafkaRecord) {
        guard let signal = RoomSignal(decoding: record.value),
            let room = partitions[record.partition]?.rooms[signal.room], !room.subscriptions.isEmpty
        else { return }
        let frame = signal.frame
        var gone: [ObjectIdentifier] = []
        for (id, subscription) in room.subscriptions where subscription.subscriber.userID != signal.user {
            guard case .live = subscription.phase else { continue }
            if !subscription.subscriber.deliver(frame) { gone.append(id) }
        }
        for id in gone { dropSubscriber(id) }
    }

    /// Visible messages of `room` after `offset`, counted up to `cap` (a count of `cap` means
    /// "at least `cap`"). Served from the room's cache when it covers the range, else from the log.
    public func unreadCount(room: RoomName, after offset: Int64, cap: Int) async throws -> Int {
        let partition = configuration.partitioner.partition(for: room)
        let state = try await ensureAssigned(partition)
        if state.position >= state.endAtAssignment, let cache = state.rooms[room], offset + 1 >= cache.coveredFrom {
            return min(cap, cache.timeline(room: room).visibleMessages.filter { $0.offset > offset }.count)
        }
        let end = state.end
        // A range far longer than the cap is not read: it holds at least `cap` unread messages
        // unless the room is very quiet, and reading it would cost more than the answer is worth.
        guard end - offset <= Int64(cap) * 100 else { return cap }
        let events = try await readRoomEvents(room: room, partition: partition, from: offset + 1, to: end)
        var timeline = RoomTimeline(room: room)
        for event in events { timeline.apply(event.logged, duplicateOf: event.duplicateOf) }
        return min(cap, timeline.visibleMessages.count)
    }
}
