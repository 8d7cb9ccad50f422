/// Everything one user's session observed over the soak, handed to the audit once it stopped.
/// Times are seconds since the soak started.
struct SessionRecord: Sendable {
    /// A `message` event as it arrived, in arrival order within its room.
    struct Delivery: Sendable {
        var offset: Int64
        var msgId: String
        var from: String
        var cmid: String
        var at: Double
        /// Which of the session's connections it came on (1, 2, ...).
        var connection: Int
    }

    /// An `ack` of one of this user's sends (a retried send may get several, all naming the same message).
    struct Ack: Sendable {
        var room: String
        var cmid: String
        var msgId: String
        var offset: Int64
        /// The message's server timestamp (`ts`, wall-clock milliseconds when a gateway produced it).
        var timestamp: Int64
        var at: Double
    }

    /// A message this user posted: when each attempt went out, and when its first ack came.
    struct Send: Sendable {
        var room: String
        var cmid: String
        var attempts: [Double] = []
        /// Wall-clock milliseconds of each attempt, comparable with the server's `ts` (same machine).
        var attemptWallMilliseconds: [Int64] = []
        var ackedAt: Double?
    }

    /// A `joined` reply: `since` is nil for the first join of the room.
    struct Join: Sendable {
        var room: String
        var since: String?
        var recovered: Bool
        /// The offset of the `joined` cursor (the room's end as the gateway saw it).
        var cursorOffset: Int64
        var at: Double
        var connection: Int
        var gateway: Int
    }

    let user: String
    let rooms: [String]
    /// The offset of the `joined` cursor of the first join per room: the session must get every
    /// message after it.
    var startOffset: [String: Int64] = [:]
    var deliveries: [String: [Delivery]] = [:]
    var acks: [Ack] = []
    var sends: [String: Send] = [:]
    var joins: [Join] = []
    /// `error` replies by code.
    var errors: [String: Int] = [:]
    /// How the session's connections ended, by close code ("none" when no close frame came).
    var closeCodes: [String: Int] = [:]
    var connections = 0
    /// Connections dropped by the server while this session was not reading (slow client).
    var droppedWhileSlow = 0

    init(user: String, rooms: [String]) {
        self.user = user
        self.rooms = rooms
    }
}
