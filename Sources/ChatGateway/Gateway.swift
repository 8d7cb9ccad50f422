import ChatDomain
import ChatFanout
import ChatHistory
import ChatPresence
import Hummingbird
import HummingbirdCore
import Kafka
import Logging
import ServiceLifecycle

/// The WebSocket and HTTP side of a gateway node, over the Kafka clients and readers the
/// composition root (ChatServer) built: its routes, its server channel and its session drain.
public struct Gateway: Sendable {
    /// What the gateway uses and does not own: the composition root starts and stops them.
    public struct Parts: Sendable {
        public var producer: KafkaProducer
        public var admin: KafkaAdmin
        public var fanout: Fanout
        public var presence: PresenceService
        public var readPositions: ReadPositions
        /// History from the log (through the node's shared reader).
        public var history: LogHistory
        /// History snapshots, when the node has a snapshot directory.
        public var snapshots: SnapshotStore?
        /// Bounds the history reads and join catch-ups of the node (shared with the fan-out).
        public var reads: ConcurrencyLimiter
        public var authority: TokenAuthority
        public var metrics: GatewayMetrics
        public var epoch: LogEpoch
        public var partitioner: RoomPartitioner

        public init(
            producer: KafkaProducer, admin: KafkaAdmin, fanout: Fanout, presence: PresenceService, readPositions: ReadPositions,
            history: LogHistory, snapshots: SnapshotStore?, reads: ConcurrencyLimiter, authority: TokenAuthority, metrics: GatewayMetrics,
            epoch: LogEpoch, partitioner: RoomPartitioner
        ) {
            self.producer = producer
            self.admin = admin
            self.fanout = fanout
            self.presence = presence
            self.readPositions = readPositions
            self.history = history
            self.snapshots = snapshots
            self.reads = reads
            self.authority = authority
            self.metrics = metrics
            self.epoch = epoch
            self.partitioner = partitioner
        }
    }

    let services: GatewayServices

    public init(configuration: GatewayConfiguration, parts: Parts, logger: Logger) {
        let registry = SessionRegistry(
            drainTimeout: configuration.drainTimeout, maxSessionsPerUser: configuration.maxSessionsPerUser,
            maxConnectionsPerIP: configuration.maxConnectionsPerIP, logger: logger)
        services = GatewayServices(
            configuration: configuration,
            fanout: parts.fanout,
            presence: parts.presence,
            readPositions: parts.readPositions,
            ingress: Ingress(
                producer: parts.producer, fanout: parts.fanout, history: parts.history, admin: parts.admin, snapshots: parts.snapshots,
                partitioner: parts.partitioner, epoch: parts.epoch, metrics: parts.metrics, sendTimeout: configuration.sendTimeout),
            history: parts.history,
            snapshotHistory: parts.snapshots.map { SnapshotHistory(store: $0, log: parts.history, logger: logger) },
            authority: parts.authority,
            metrics: parts.metrics,
            registry: registry,
            keepAlive: KeepAliveTimers(pingInterval: configuration.pingInterval),
            parser: ClientFrameParser(limits: configuration.limits),
            reads: parts.reads,
            epoch: parts.epoch,
            partitioner: parts.partitioner,
            logger: logger)
    }

    /// Adds the gateway's HTTP routes (the WebSocket endpoint's refusals, publishing, history,
    /// development tokens, the web page) to `router`.
    public func addRoutes(to router: Router<ChatRequestContext>) {
        GatewayRoutes.addRoutes(to: router, services: services)
    }

    /// HTTP/1 with the WebSocket upgrade, behind the request head deadline.
    public func server() -> HTTPServerBuilder {
        let configuration = services.configuration
        let http1 = HTTP1Channel.Configuration(idleTimeout: .nanoseconds(configuration.requestHeadTimeout.wholeNanoseconds))
        let headTimeout = configuration.requestHeadTimeout
        let services = self.services
        return HTTPServerBuilder { responder in
            RequestHeadDeadlineChannel(inner: ChatServerChannel(responder: responder, services: services, http1: http1), timeout: headTimeout)
        }
    }

    /// Drains the sessions on graceful shutdown (close 1001, in-flight sends first): run it after
    /// the server in the node's service group, so that it stops before the server does.
    public var sessionDrain: any Service { services.registry }

    /// Stops the keep-alive timers once the sessions are gone.
    public func stop() {
        services.keepAlive.stop()
    }
}
