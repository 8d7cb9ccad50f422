import ChatDomain
import Kafka

extension Fanout {
    /// Delivers a typing or read signal to the room's live subscribers, except the user who sent it.
    func processSignal(_ record: KafkaRecord, into deliveries: inout DeliveryBatch) {
        guard let signal = RoomSignal(decoding: record.value),
            let room = partitions[record.partition]?.rooms[signal.room], !room.subscriptions.isEmpty
        else { return }
        let frame = WireFrame(json: signal.frame)
        for subscription in room.subscriptions.values where subscription.subscriber.userID != signal.user {
            guard case .live = subscription.phase else { continue }
            deliveries.add(frame, to: subscription.subscriber)
        }
    }

    /// Visible messages of `room` after `offset`, counted up to `cap` (a count of `cap` means
    /// "at least `cap`"). Served from the room's cache when it covers the range, else from the log.
    public func unreadCount(room: RoomName, after offset: Int64, cap: Int) async throws -> Int {
        let partition = configuration.partitioner.partition(for: room)
        let state = try await ensureAssigned(partition)
        let end = state.end
        // A stored position comes from a log record anyone could have written: one beyond what
        // this node has read has nothing unread this node knows of.
        guard let from = ChatCursor(epoch: configuration.epoch, partition: partition, offset: offset).resumeOffset(end: end) else {
            return 0
        }
        if state.position >= state.endAtAssignment, let cache = state.rooms[room], from >= cache.coveredFrom {
            return min(cap, cache.timeline(room: room).visibleMessages.filter { $0.offset >= from }.count)
        }
        // A range far longer than the cap is not read: it holds at least `cap` unread messages
        // unless the room is very quiet, and reading it would cost more than the answer is worth.
        let (longest, overflow) = Int64(cap).multipliedReportingOverflow(by: 100)
        guard overflow || end - from < longest else { return cap }
        let events = try await readRoomEvents(room: room, partition: partition, from: from, to: end)
        return min(cap, RoomTimeline(room: room, from: from, replaying: events).visibleMessages.count)
    }
}
