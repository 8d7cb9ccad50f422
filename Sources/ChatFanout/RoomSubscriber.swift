import ChatDomain
import NIOCore

/// Something that receives the frames of the rooms it joined: a WebSocket session.
///
/// The fan-out never waits for a subscriber and never calls it from its own task: it groups the
/// frames of a consumed batch by the subscribers' event loops and hands each loop one closure that
/// calls ``write(_:)`` for every frame, in order, then ``flush()`` for every subscriber it wrote to.
/// A subscriber that cannot keep up closes itself and leaves (``Fanout/leaveAll(subscriber:)``).
public protocol RoomSubscriber: AnyObject, Sendable {
    /// The user the subscriber acts for: signals a user sends (typing) are not echoed to them.
    var userID: String { get }
    /// The loop ``write(_:)`` and ``flush()`` are called on: the one of the subscriber's connection.
    var eventLoop: any EventLoop { get }
    /// Queues `frame` on the connection, without flushing. Called on ``eventLoop``.
    func write(_ frame: WireFrame)
    /// Flushes what ``write(_:)`` queued. Called on ``eventLoop``, once per batch.
    func flush()
    /// The fan-out gave up on the subscriber (it fell too far behind while catching up): close as
    /// too slow. Called on ``eventLoop``.
    func cannotKeepUp()
    /// The fan-out ended the subscription to `room`: the user was kicked or banned, and `left`
    /// was the subscription's last frame. Called on ``eventLoop``.
    func removed(from room: RoomName)
}
