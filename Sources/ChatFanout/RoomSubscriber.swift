/// Something that receives the frames of the rooms it joined: a WebSocket session.
///
/// The fan-out calls `deliver` from its own task for every frame, in order, and never waits for
/// the subscriber: an implementation only buffers. Returning `false` means the subscriber is gone
/// or cannot keep up; the fan-out then forgets it in every room.
public protocol RoomSubscriber: AnyObject, Sendable {
    /// The user the subscriber acts for: signals a user sends (typing) are not echoed to them.
    var userID: String { get }
    func deliver(_ frame: String) -> Bool
}
