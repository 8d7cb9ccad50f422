import ChatDomain

/// The membership events a partition's snapshots hold (``SnapshotStore/membership(partition:)``).
public struct SnapshotMembership: Sendable, Equatable {
    /// Every visible membership event of the valid segments, of every room, offset order.
    public var events: [LoggedRoomEvent]
    /// Where the valid segments end: a fold of the log from here is seeded with ``states``.
    public var to: Int64

    public init(events: [LoggedRoomEvent], to: Int64) {
        self.events = events
        self.to = to
    }

    /// Every room's state at ``to``.
    public func states(partition: Int32) -> [RoomName: RoomState] {
        MembershipJournal(partition: partition, events: events).current
    }
}

extension SnapshotLayers {
    /// The membership events of the valid segments, offset order. Blocks (SQLite): call it from
    /// ``SnapshotIO``. `nil` without valid segments.
    public func membership() throws -> SnapshotMembership? {
        guard let end = validEnd else { return nil }
        return SnapshotMembership(events: try valid.flatMap { try $0.membershipEvents() }, to: end)
    }
}

extension SnapshotStore {
    /// Every membership event the partition's snapshots hold and the offset their valid segments
    /// cover up to: with the log folded from there, every room's state, however old its creation.
    ///
    /// When a segment fails verification only the valid prefix counts (``SnapshotMembership/to``
    /// is its end): the caller folds the log from there if the log still holds it, and must not
    /// guess room states otherwise. A gap in the manifest (records the log lost before the
    /// compactor folded them) loses the membership events in it: the compactor must keep up with
    /// retention (its lag alerts say when it does not).
    /// - Returns: `nil` when the partition has no valid segments.
    public func membership(partition: Int32) async throws -> SnapshotMembership? {
        guard let layers = try await layers(partition: partition) else { return nil }
        return try await SnapshotIO.run { try layers.membership() }
    }
}
