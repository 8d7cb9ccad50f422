import ChatDomain

/// Settings of a gateway node's WebSocket and HTTP side.
public struct GatewayConfiguration: Sendable {
    public var host: String = "0.0.0.0"
    public var port: Int = 8080
    public var nodeID: String
    /// `Origin` values allowed to open a WebSocket; empty allows any.
    public var allowedOrigins: Set<String> = []
    /// Largest WebSocket message read; a larger one closes the session with 1009.
    public var maxFrameBytes: Int = 64 * 1024
    public var limits = RequestLimits()
    /// Requests per second per connection, and the burst allowed.
    public var requestRate: Double = 50
    public var requestBurst: Double = 100
    /// Consecutive rate-limited requests after which the session is closed with 4029.
    public var rateLimitStrikes: Int = 50
    /// Bytes of frames queued for a session before it is closed as too slow (4008).
    public var outboundQueueBytes: Int = 4 * 1024 * 1024
    /// How long a session closed as too slow has to read its close frame before the connection is cut.
    public var slowCloseGrace: Duration = .seconds(10)
    /// Sends of one session waiting for their acknowledgement at once; more wait to be read.
    public var maxInFlightSendsPerSession: Int = 256
    /// How long a send may wait for Kafka before it gets `unavailable`.
    public var sendTimeout: Duration = .seconds(30)
    /// WebSocket ping period; a client that has not answered by the next ping is dropped.
    public var pingInterval: Duration = .seconds(30)
    /// At most one `typing` signal per session and room in this interval; extra ones are dropped.
    public var typingInterval: Duration = .seconds(1)
    /// Whether room members receive each other's `read` events.
    public var broadcastReadPositions = true
    /// `unread` in `joined` counts at most this many messages (a value of the cap means "at least").
    public var unreadCap = 1000
    /// How long shutdown waits for in-flight sends before closing sessions.
    public var drainTimeout: Duration = .seconds(10)
    /// `/readyz` answers 503 while the fan-out is more than this many messages behind.
    public var readyLagLimit: Int64 = 10_000

    /// Rooms one session may have joined at once; another `join` gets `limit`.
    public var maxRoomsPerSession: Int = 1000
    /// Open sessions of one user on this node; another upgrade is refused with 429 `limit`.
    public var maxSessionsPerUser: Int = 100
    /// Open WebSocket connections from one client IP address on this node; another upgrade is
    /// refused with 429 `limit`.
    public var maxConnectionsPerIP: Int = 1000
    /// `history` reads and join catch-ups running at once on this node; more wait in line.
    public var maxConcurrentReads: Int = 64
    /// Reads waiting for a slot; one more is answered `unavailable` at once.
    public var maxQueuedReads: Int = 1024
    /// A connection that has not sent a complete request head within this time is closed.
    public var requestHeadTimeout: Duration = .seconds(10)

    public init(nodeID: String) {
        self.nodeID = nodeID
    }

    /// Why a page from `origin` may not open a session, or `nil`. Clients other than browsers send
    /// no `Origin`, and are let through.
    func originRefusal(_ origin: String?) -> String? {
        guard !allowedOrigins.isEmpty, let origin else { return nil }
        return allowedOrigins.contains(origin) ? nil : "origin \(origin) is not allowed"
    }
}
