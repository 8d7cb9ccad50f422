import ChatDomain

extension Fanout {
    /// A history page served from the room's cache, or `nil` when the cache cannot answer it
    /// completely (then history is read from the log).
    public func cachedHistory(room: RoomName, before: Int64?, limit: Int) -> HistoryPage? {
        let partition = configuration.partitioner.partition(for: room)
        guard let state = partitions[partition] else { return nil }
        let roomCache = state.rooms[room]
        let upper = before ?? Int64.max
        // Until the fan-out has read up to where the log ended when it started, its cache lacks
        // the newest events.
        guard state.position >= state.endAtAssignment || upper <= state.position else { return nil }
        // A room the fan-out has no cache for had no event since the partition's eviction floor:
        // an unknown room of a partition read from its start answers without any log read.
        let visible = roomCache?.timeline(room: room).visibleMessages.filter { $0.offset < upper } ?? []
        let low = consumer.cachedWatermarks(topic: configuration.roomsTopic, partition: partition)?.low ?? 0
        let olderExist = (roomCache?.coveredFrom ?? state.uncachedRoomsCoveredFrom) > low
        if visible.count >= limit || !olderExist {
            return HistoryPage.newest(limit, of: visible, olderExist: olderExist)
        }
        return nil
    }
}
