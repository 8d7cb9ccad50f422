import ChatDomain

/// What the fan-out needs from history kept beyond the log (the snapshots): whether it covers
/// a range retention deleted, a room's events from there, and the duplicate window at an offset.
///
/// The fan-out defines it so that the hot path knows nothing of how that history is stored; the
/// composition root hands it the snapshot store behind this protocol.
public protocol CatchUpSource: Sendable {
    /// Whether the source holds every offset of `partition` in `[from, to)`.
    func covers(partition: Int32, from: Int64, to: Int64) async -> Bool

    /// The room's events after `after` the source holds, when it covers everything from
    /// `after + 1` up to the log start `low`.
    /// - Throws: when it cannot cover that range, so the caller reports it rather than skipping events.
    func catchUp(room: RoomName, partition: Int32, after: Int64, low: Int64) async throws -> CatchUp

    /// The duplicate window at `offset` (the visible posts within `span` before it), or `nil`
    /// when the source does not reach it.
    func window(partition: Int32, at offset: Int64, span: Int64) async -> [WindowEntry]?

    /// Every visible membership event of `partition` the source holds, and where its coverage
    /// ends; `nil` when it holds nothing of the partition.
    /// - Throws: when the source cannot be read (the caller must not guess room states then).
    func membership(partition: Int32) async throws -> MembershipSeed?
}

/// The membership events history beyond the log holds for a partition (``CatchUpSource``).
public struct MembershipSeed: Sendable, Equatable {
    /// Offset order.
    public var events: [LoggedRoomEvent]
    /// The first offset the source does not cover: the log continues from here.
    public var to: Int64

    public init(events: [LoggedRoomEvent], to: Int64) {
        self.events = events
        self.to = to
    }
}

/// The part of a resuming subscriber's catch-up that only the ``CatchUpSource`` still holds.
public struct CatchUp: Sendable {
    /// Offset order: each surviving message once with its edits folded in, and the edits and
    /// deletes of older messages.
    public var events: [LoggedRoomEvent]
    /// The catch-up continues from the log at this offset.
    public var logFrom: Int64
    /// The duplicate window at ``logFrom``.
    public var window: [WindowEntry]

    public init(events: [LoggedRoomEvent], logFrom: Int64, window: [WindowEntry]) {
        self.events = events
        self.logFrom = logFrom
        self.window = window
    }
}
