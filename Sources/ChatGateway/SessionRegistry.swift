import Logging
import NIOCore
import ServiceLifecycle
import Synchronization

/// The node's open sessions. As a service placed last in the node's service group, it is the first
/// to hear of shutdown: it drains every session (close 1001 after in-flight sends) before the
/// HTTP server, the fan-out and the producer stop.
///
/// It also holds the per-node bounds on sessions: per user and per client IP address.
final class SessionRegistry: Service, Sendable {
    private struct State {
        var sessions: [ObjectIdentifier: ChatSession] = [:]
        var perUser: [String: Int] = [:]
        var perAddress: [String: Int] = [:]
    }

    private let state = Mutex(State())
    private let drainTimeout: Duration
    private let maxSessionsPerUser: Int
    private let maxConnectionsPerIP: Int
    private let logger: Logger

    init(drainTimeout: Duration, maxSessionsPerUser: Int = .max, maxConnectionsPerIP: Int = .max, logger: Logger) {
        self.drainTimeout = drainTimeout
        self.maxSessionsPerUser = maxSessionsPerUser
        self.maxConnectionsPerIP = maxConnectionsPerIP
        self.logger = logger
    }

    /// The key a connection's client address is counted under.
    static func addressKey(_ channel: any Channel) -> String {
        channel.remoteAddress?.ipAddress ?? "unknown"
    }

    /// Why one more session of `user` from `address` would be over a bound, or `nil`.
    func refusal(user: String, address: String) -> String? {
        state.withLock { Self.refusal(user: user, address: address, in: $0, maxPerUser: maxSessionsPerUser, maxPerIP: maxConnectionsPerIP) }
    }

    /// Registers the session unless that would go over a bound; returns the refusal then.
    /// Checked again here, under the lock, because upgrades checked at once may all have passed.
    func add(_ session: ChatSession) -> String? {
        state.withLock { state in
            let user = session.userID
            let address = session.clientAddress
            if let refusal = Self.refusal(user: user, address: address, in: state, maxPerUser: maxSessionsPerUser, maxPerIP: maxConnectionsPerIP) {
                return refusal
            }
            state.sessions[ObjectIdentifier(session)] = session
            state.perUser[user, default: 0] += 1
            state.perAddress[address, default: 0] += 1
            return nil
        }
    }

    func remove(_ session: ChatSession) {
        state.withLock { state in
            guard state.sessions.removeValue(forKey: ObjectIdentifier(session)) != nil else { return }
            Self.decrement(&state.perUser, session.userID)
            Self.decrement(&state.perAddress, session.clientAddress)
        }
    }

    var count: Int { state.withLock { $0.sessions.count } }

    private static func refusal(user: String, address: String, in state: State, maxPerUser: Int, maxPerIP: Int) -> String? {
        if state.perUser[user, default: 0] >= maxPerUser {
            return "sessions per user limit reached: at most \(maxPerUser) open sessions of one user on this node"
        }
        if state.perAddress[address, default: 0] >= maxPerIP {
            return "connections per IP limit reached: at most \(maxPerIP) open connections from one address on this node"
        }
        return nil
    }

    private static func decrement(_ counts: inout [String: Int], _ key: String) {
        let value = counts[key, default: 0] - 1
        counts[key] = value > 0 ? value : nil
    }

    func run() async throws {
        try? await gracefulShutdown()
        let open = state.withLock { Array($0.sessions.values) }
        logger.info("draining sessions", metadata: ["count": "\(open.count)"])
        for session in open { session.drain() }
        let deadline = ContinuousClock.now.advanced(by: drainTimeout + .seconds(2))
        while count > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}
