import ChatDomain

/// What the fan-out knows about one assigned partition of `chat.rooms`.
final class PartitionState {
    let partition: Int32
    /// The next offset to process.
    var position: Int64
    /// The log end when the partition was assigned: joins before the fan-out reaches it start there.
    let endAtAssignment: Int64
    /// Records before it are folded for the room states alone (see ``Fanout/foldStart``): no cache,
    /// no frames, and no decoding of records that are not membership events.
    let warmFrom: Int64
    /// Rooms created after an eviction only cover events from here on.
    private var evictionFloor: Int64
    /// The partition's log fold: duplicate and membership verdicts only (no per-message state, so
    /// memory stays bounded by the window and the rooms' states however many messages pass).
    var fold: PartitionLogFold
    /// Every visible membership event of the partition (the snapshots' and those read since):
    /// seeds the folds of catch-ups and history reads that start before ``position``.
    var journal: MembershipJournal
    var refusals = RecentRefusals()
    var rooms: [RoomName: RoomCache] = [:]
    var waiters = OffsetWaiters<ReadWaiter>()
    private let cachedEventsPerRoom: Int
    private let cachedRooms: Int

    init(
        partition: Int32, start: Int64, end: Int64, duplicateSpan: Int64, window: [WindowEntry] = [], journal: MembershipJournal,
        cachedEventsPerRoom: Int, cachedRooms: Int
    ) {
        self.partition = partition
        self.position = start
        self.endAtAssignment = end
        self.warmFrom = max(start, end - duplicateSpan)
        self.evictionFloor = self.warmFrom
        self.journal = journal
        self.fold = PartitionLogFold(
            partition: partition, from: start, span: duplicateSpan, window: window, roomStates: journal.states(before: start))
        self.cachedEventsPerRoom = cachedEventsPerRoom
        self.cachedRooms = cachedRooms
    }

    /// The current end of the partition as far as this node has read it.
    var end: Int64 { max(position, endAtAssignment) }

    /// Whether the fan-out has read up to where the log ended when the partition was assigned:
    /// only then are its room states current enough to check requests against.
    var isCaughtUp: Bool { position >= endAtAssignment }

    /// A room without a cache had no event from here on (the span an empty cache would cover).
    var uncachedRoomsCoveredFrom: Int64 { evictionFloor }

    func room(_ name: RoomName) -> RoomCache {
        if let room = rooms[name] { return room }
        if rooms.count >= cachedRooms { evictIdleRoom() }
        let room = RoomCache(coveredFrom: evictionFloor, capacity: cachedEventsPerRoom)
        // A room first seen now has had no event since the floor: its empty cache covers that span.
        rooms[name] = room
        return room
    }

    private func evictIdleRoom() {
        guard let victim = rooms.filter({ $0.value.subscriptions.isEmpty }).min(by: { $0.value.lastActivity < $1.value.lastActivity })
        else { return }
        rooms[victim.key] = nil
        evictionFloor = position
    }
}
