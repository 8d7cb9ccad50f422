import Logging
import ServiceLifecycle
import Synchronization

/// The node's open sessions. As a service placed last in the node's service group, it is the first
/// to hear of shutdown: it drains every session (close 1001 after in-flight sends) before the
/// HTTP server, the fan-out and the producer stop.
final class SessionRegistry: Service, Sendable {
    private let sessions = Mutex<[ObjectIdentifier: ChatSession]>([:])
    private let drainTimeout: Duration
    private let logger: Logger

    init(drainTimeout: Duration, logger: Logger) {
        self.drainTimeout = drainTimeout
        self.logger = logger
    }

    func add(_ session: ChatSession) {
        sessions.withLock { $0[ObjectIdentifier(session)] = session }
    }

    func remove(_ session: ChatSession) {
        sessions.withLock { $0[ObjectIdentifier(session)] = nil }
    }

    var count: Int { sessions.withLock { $0.count } }

    func run() async throws {
        try? await gracefulShutdown()
        let open = sessions.withLock { Array($0.values) }
        logger.info("draining sessions", metadata: ["count": "\(open.count)"])
        for session in open { session.drain() }
        let deadline = ContinuousClock.now.advanced(by: drainTimeout + .seconds(2))
        while count > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}
