import ChatDomain

extension Fanout {
    /// What a send needs from the fan-out, in one actor hop: the visible post a retry of (room,
    /// user, cmid) repeats, and the room's membership state the post is checked against before it
    /// is produced (``roomState(_:timeout:)``'s wait included).
    public func sendContext(room: RoomName, user: String, cmid: String, timeout: Duration = .seconds(10)) async throws -> (
        existing: AcknowledgedPost?, state: RoomState?
    ) {
        let state = try await roomState(room, timeout: timeout)
        return (existingPost(room: room, user: user, cmid: cmid), state)
    }
}
