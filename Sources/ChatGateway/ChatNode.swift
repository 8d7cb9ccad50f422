import AsyncOneShot
import ChatCompactor
import ChatDomain
import ChatFanout
import ChatHistory
import ChatPresence
import Hummingbird
import HummingbirdCore
import Kafka
import Logging
import Prometheus
import ServiceLifecycle

/// A running gateway node: Kafka clients, fan-out, WebSocket and HTTP server, session drain.
///
/// `chatd` is a thin wrapper around ``ChatNode/build(configuration:logger:)`` and ``run()``;
/// tests build and run nodes the same way.
public final class ChatNode: Service, Sendable {
    public let configuration: ChatNodeConfiguration
    /// The embedded cluster, when no brokers were configured.
    public let embeddedCluster: EmbeddedKafkaCluster?
    public let bootstrapServers: String
    public let epoch: LogEpoch
    public let partitioner: RoomPartitioner
    let producer: KafkaProducer
    let admin: KafkaAdmin
    let fanout: Fanout
    let sharedReader: SharedPartitionReader
    let compactor: Compactor?
    let presence: PresenceService
    let readPositions: ReadPositions
    let registry: SessionRegistry
    let keepAlive: KeepAliveTimers
    let application: Application<RouterResponder<ChatRequestContext>>
    let logger: Logger
    /// The listening port, known once the server runs.
    private let port = OneShot<Int>()

    public static func build(configuration: ChatNodeConfiguration, logger: Logger = Logger(label: "chatd")) async throws -> ChatNode {
        if configuration.production {
            guard configuration.brokers != nil else {
                throw ChatNodeStartupError(description: "production mode needs --brokers (or CHAT_BROKERS): the embedded cluster is for development")
            }
            if case .development = configuration.authentication {
                throw ChatNodeStartupError(
                    description: "production mode needs --jwt-secret or --jwt-public-key-file: development tokens are refused in production")
            }
        }
        if case .development = configuration.authentication, configuration.brokers != nil {
            guard configuration.insecureDevelopmentTokens else {
                throw ChatNodeStartupError(
                    description: "--brokers needs --jwt-secret (CHAT_JWT_SECRET) or --jwt-public-key-file (CHAT_JWT_PUBLIC_KEY_FILE): "
                        + "without one, anyone could mint tokens, admin ones included. On a test cluster only, "
                        + "--insecure-dev-tokens (CHAT_INSECURE_DEV_TOKENS=1) allows development tokens")
            }
            logger.warning(
                "INSECURE: development tokens on real brokers (--insecure-dev-tokens): anyone can mint any token, admin included; never use this in production"
            )
        }
        do {
            _ = try await configuration.tokenAuthority()
        } catch {
            throw ChatNodeStartupError(description: "\(error)")
        }
        var embedded: EmbeddedKafkaCluster?
        let bootstrapServers: String
        if let brokers = configuration.brokers {
            bootstrapServers = brokers
        } else {
            let cluster = try EmbeddedKafkaCluster(brokers: configuration.embeddedBrokerCount, logger: logger)
            try ChatTopicLayout(partitions: configuration.embeddedPartitions).create(on: cluster)
            embedded = cluster
            bootstrapServers = cluster.bootstrapServers
            logger.info("started an embedded Kafka cluster", metadata: ["bootstrap": "\(bootstrapServers)"])
        }
        do {
            return try await ChatNode(configuration: configuration, embedded: embedded, bootstrapServers: bootstrapServers, logger: logger)
        } catch {
            await embedded?.shutdown()
            throw error
        }
    }

    private init(configuration: ChatNodeConfiguration, embedded: EmbeddedKafkaCluster?, bootstrapServers: String, logger: Logger) async throws {
        let kafka = configuration.kafkaConfiguration(bootstrapServers: bootstrapServers)
        let consumerKafka = configuration.consumerConfiguration(bootstrapServers: bootstrapServers, embedded: embedded != nil)
        let backgroundConsumerKafka = configuration.consumerConfiguration(
            bootstrapServers: bootstrapServers, embedded: embedded != nil, embeddedFetchWaitMilliseconds: 50)
        let admin = try KafkaAdmin(configuration: kafka, logger: logger)
        let roomPartitions: Int32
        let clusterID: String
        let presencePartitions: Int32
        let cursorPartitions: Int32
        do {
            clusterID = try await admin.clusterID()
            let topics = try await admin.topics()
            for topic in ChatTopics.all where topics[topic] == nil {
                throw ChatNodeStartupError(description: "topic \(topic) does not exist: run `chatctl topics apply --brokers \(bootstrapServers)`")
            }
            presencePartitions = Int32(topics[ChatTopics.presence]!)
            cursorPartitions = Int32(topics[ChatTopics.cursors]!)
            guard let count = try await admin.partitionCount(topic: ChatTopics.rooms) else {
                throw ChatNodeStartupError(description: "topic \(ChatTopics.rooms) does not exist: run `chatctl topics apply --brokers \(bootstrapServers)`")
            }
            roomPartitions = configuration.roomPartitions ?? Int32(count)
            guard roomPartitions <= count else {
                throw ChatNodeStartupError(description: "--room-partitions \(roomPartitions) exceeds the \(count) partitions of \(ChatTopics.rooms)")
            }
        } catch let error as ChatNodeStartupError {
            await admin.close()
            throw error
        } catch {
            await admin.close()
            throw ChatNodeStartupError(description: "cannot reach Kafka at \(bootstrapServers) (\(error)); check --brokers and the network")
        }
        let epoch = LogEpoch(clusterID: clusterID, topic: ChatTopics.rooms)
        let partitioner = RoomPartitioner(partitionCount: roomPartitions)
        let prometheus = PrometheusCollectorRegistry()
        let metricsFactory = PrometheusMetricsFactory(registry: prometheus)

        var producerConfiguration = kafka
        producerConfiguration["delivery.timeout.ms"] = producerConfiguration["delivery.timeout.ms"]
            ?? String(configuration.gateway.sendTimeout.components.seconds * 1000)
        // The producer's queue holds at most its share of the node's memory budget; when full,
        // sends are answered `unavailable` at once (see Ingress).
        producerConfiguration["queue.buffering.max.kbytes"] = producerConfiguration["queue.buffering.max.kbytes"]
            ?? String(max(1, configuration.producerQueueKilobytes))
        let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
        do {
            try await producer.loadTopicMetadata(timeout: .seconds(5))
        } catch {
            logger.warning("the producer could not load topic metadata at start; first messages may wait for it", metadata: ["error": "\(error)"])
        }
        var fanoutConfiguration = FanoutConfiguration(
            kafka: consumerKafka, groupID: "chat-fanout-\(configuration.gateway.nodeID)", partitioner: partitioner, epoch: epoch)
        fanoutConfiguration.duplicateSpan = configuration.duplicateSpan
        fanoutConfiguration.cachedEventsPerRoom = configuration.cachedEventsPerRoom
        let snapshots = configuration.snapshotDirectory.map { SnapshotStore(directory: SnapshotDirectory(root: $0, epoch: epoch)) }
        fanoutConfiguration.snapshots = snapshots
        let reads = ConcurrencyLimiter(maxRunning: configuration.gateway.maxConcurrentReads, maxWaiting: configuration.gateway.maxQueuedReads)
        fanoutConfiguration.readLimiter = reads
        let fanout = try Fanout(configuration: fanoutConfiguration, admin: admin, metricsFactory: metricsFactory, logger: logger)
        let metrics = GatewayMetrics(factory: metricsFactory)
        let sharedReader = SharedPartitionReader(
            configuration: consumerKafka, topic: ChatTopics.rooms, maxWaiting: configuration.historyReaderQueueLimit,
            observers: metrics.historyReaderObservers, logger: logger)
        let reader = PartitionRangeReader(shared: sharedReader)
        let logHistory = LogHistory(
            reader: reader, admin: admin, partitioner: partitioner, duplicateSpan: configuration.duplicateSpan,
            scanLimit: configuration.historyScanLimit)
        let keepAlive = KeepAliveTimers(pingInterval: configuration.gateway.pingInterval)
        let registry = SessionRegistry(
            drainTimeout: configuration.gateway.drainTimeout, maxSessionsPerUser: configuration.gateway.maxSessionsPerUser,
            maxConnectionsPerIP: configuration.gateway.maxConnectionsPerIP, logger: logger)
        var presenceConfiguration = PresenceConfiguration(nodeID: configuration.gateway.nodeID, kafka: backgroundConsumerKafka)
        presenceConfiguration.heartbeatInterval = configuration.presenceHeartbeatInterval
        presenceConfiguration.staleAfter = configuration.presenceStaleAfter
        let presence = PresenceService(
            configuration: presenceConfiguration, partitionCount: presencePartitions, producer: producer, admin: admin, logger: logger)
        let readPositions = ReadPositions(
            kafka: backgroundConsumerKafka, partitionCount: cursorPartitions, producer: producer, logger: logger,
            roomBounds: RoomLogBounds(epoch: epoch, partitioner: partitioner, admin: admin))
        let services = GatewayServices(
            configuration: configuration.gateway,
            fanout: fanout,
            presence: presence,
            readPositions: readPositions,
            ingress: Ingress(
                producer: producer, fanout: fanout, history: logHistory, admin: admin, snapshots: snapshots, partitioner: partitioner, epoch: epoch,
                metrics: metrics,
                sendTimeout: configuration.gateway.sendTimeout),
            history: logHistory,
            snapshotHistory: snapshots.map { SnapshotHistory(store: $0, log: logHistory, logger: logger) },
            authority: try await configuration.tokenAuthority(),
            metrics: metrics,
            registry: registry,
            keepAlive: keepAlive,
            parser: ClientFrameParser(limits: configuration.gateway.limits),
            reads: reads,
            epoch: epoch,
            partitioner: partitioner,
            logger: logger)
        var compactor: Compactor?
        if let root = configuration.snapshotDirectory, configuration.runsCompactor ?? (embedded != nil) {
            var compactorConfiguration = CompactorConfiguration(kafka: backgroundConsumerKafka, snapshotRoot: root)
            compactorConfiguration.duplicateSpan = configuration.duplicateSpan
            compactor = try Compactor(
                configuration: compactorConfiguration, admin: admin, epoch: epoch, metricsFactory: metricsFactory, logger: logger)
        }
        let health = NodeHealth(admin: admin, fanout: fanout, lagLimit: configuration.gateway.readyLagLimit)

        self.configuration = configuration
        self.embeddedCluster = embedded
        self.bootstrapServers = bootstrapServers
        self.epoch = epoch
        self.partitioner = partitioner
        self.producer = producer
        self.admin = admin
        self.fanout = fanout
        self.sharedReader = sharedReader
        self.compactor = compactor
        self.presence = presence
        self.readPositions = readPositions
        self.registry = registry
        self.keepAlive = keepAlive
        self.logger = logger
        let port = self.port
        self.application = Application(
            router: GatewayRoutes.httpRouter(services: services, health: health, prometheus: prometheus),
            server: Self.server(services: services, configuration: configuration.gateway),
            configuration: .init(address: .hostname(configuration.gateway.host, port: configuration.gateway.port), serverName: "chatd"),
            onServerRunning: { channel in
                port.resolve(channel.localAddress?.port ?? configuration.gateway.port)
            },
            logger: logger)
    }

    /// HTTP/1 with the WebSocket upgrade, behind the request head deadline.
    private static func server(services: GatewayServices, configuration: GatewayConfiguration) -> HTTPServerBuilder {
        let http1 = HTTP1Channel.Configuration(idleTimeout: .nanoseconds(configuration.requestHeadTimeout.wholeNanoseconds))
        let headTimeout = configuration.requestHeadTimeout
        return HTTPServerBuilder { responder in
            RequestHeadDeadlineChannel(inner: ChatServerChannel(responder: responder, services: services, http1: http1), timeout: headTimeout)
        }
    }

    /// The port the server listens on, once it does.
    public func boundPort() async -> Int {
        await port.value()
    }

    /// Runs until graceful shutdown (SIGTERM / SIGINT when run by `chatd`): sessions drain with
    /// close 1001 first, then the server, the fan-out and the producer stop in that order.
    public func run() async throws {
        let group = ServiceGroup(
            configuration: .init(
                services: [
                    .init(service: ProducerService(producer: producer)),
                    .init(service: fanout),
                    .init(service: CompactorSlot(compactor)),
                    .init(service: presence),
                    .init(service: readPositions),
                    .init(service: application),
                    .init(service: registry),
                ],
                logger: logger))
        do {
            try await group.run()
        } catch {
            await shutdownClients()
            throw error
        }
        await shutdownClients()
    }

    private func shutdownClients() async {
        keepAlive.stop()
        await sharedReader.close()
        await producer.close()
        await admin.close()
        await embeddedCluster?.shutdown()
    }
}

/// Closes the producer (flushing what is in flight) when the node shuts down.
struct ProducerService: Service {
    let producer: KafkaProducer

    func run() async throws {
        try? await gracefulShutdown()
        await producer.close()
    }
}
