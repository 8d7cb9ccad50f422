import ChatDomain
import ChatHistory

extension Fanout {
    /// A history page served from the room's cache, or `nil` when the cache cannot answer it
    /// completely (then history is read from the log).
    public func cachedHistory(room: RoomName, before: Int64?, limit: Int) -> HistoryPage? {
        let partition = configuration.partitioner.partition(for: room)
        guard let state = partitions[partition], let roomCache = state.rooms[room] else { return nil }
        let upper = before ?? Int64.max
        // Until the fan-out has read up to where the log ended when it started, its cache lacks
        // the newest events.
        guard state.position >= state.endAtAssignment || upper <= state.position else { return nil }
        let visible = roomCache.timeline(room: room).visibleMessages.filter { $0.offset < upper }
        let low = consumer.cachedWatermarks(topic: configuration.roomsTopic, partition: partition)?.low ?? 0
        let olderExist = roomCache.coveredFrom > low
        if visible.count >= limit || !olderExist {
            return HistoryPage.newest(limit, of: visible, olderExist: olderExist)
        }
        return nil
    }
}
