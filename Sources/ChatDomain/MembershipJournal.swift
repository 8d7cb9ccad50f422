/// The visible membership events of one partition, in offset order, and the room states they
/// fold to: what lets a fold that starts in the middle of the log be seeded with the room states
/// at its start (``PartitionLogFold/init(partition:from:span:window:roomStates:rooms:keepsMessages:keepsPosts:keepsMembershipEvents:)``).
///
/// Membership events are few next to messages (one per create, invite, kick, ban, mute or role
/// change), and every one is needed: a ban from years ago still refuses today's posts. Snapshots
/// keep them all for the same reason.
public struct MembershipJournal: Sendable {
    public let partition: Int32
    /// Offset order.
    public private(set) var events: [LoggedRoomEvent] = []
    /// The states after every event of the journal.
    public private(set) var current: [RoomName: RoomState] = [:]

    public init(partition: Int32, events: some Sequence<LoggedRoomEvent> = []) {
        self.partition = partition
        for event in events { append(event) }
    }

    /// Adds a membership event the fold found visible (one at or after the last one; others and
    /// events that are not membership changes are ignored, so a replayed range adds nothing).
    public mutating func append(_ logged: LoggedRoomEvent) {
        guard case .membership = logged.event.kind, logged.offset > (events.last?.offset ?? -1) else { return }
        var state = current[logged.event.room]
        // Visible when folded, so the rule takes it again: the states are the fold's.
        guard MembershipRule.apply(logged.event, to: &state, offset: logged.offset) == nil, let state else { return }
        events.append(logged)
        current[logged.event.room] = state
    }

    /// The room states just before `offset`: what a fold starting there is seeded with.
    public func states(before offset: Int64) -> [RoomName: RoomState] {
        guard let last = events.last, last.offset >= offset else { return current }
        var states: [RoomName: RoomState] = [:]
        for logged in events where logged.offset < offset {
            var state = states[logged.event.room]
            _ = MembershipRule.apply(logged.event, to: &state, offset: logged.offset)
            states[logged.event.room] = state
        }
        return states
    }

    /// The membership events of `room`, offset order.
    public func events(of room: RoomName) -> [LoggedRoomEvent] {
        events.filter { $0.event.room == room }
    }
}
