import AsyncOneShot
import ChatCompactor
import ChatDomain
import ChatGateway
import ChatProvisioning
import Hummingbird
import Kafka
import Logging
import NIOCore
import Prometheus
import ServiceLifecycle

/// A running chat process: a gateway node, a compactor, or both, built from one
/// ``ChatNodeConfiguration``, with the operational routes (`/healthz`, `/readyz`, `/metrics`)
/// every role serves and the order its services start and stop in.
///
/// `chatd` parses its options into a configuration and calls ``build(configuration:logger:)``
/// and ``run()``; tests build and run nodes the same way.
public final class ChatNode: Service, Sendable {
    public let configuration: ChatNodeConfiguration
    /// What the node runs (``ChatNodeConfiguration/role`` with its default resolved).
    public let role: ChatNodeRole
    /// The embedded cluster, when no brokers were configured.
    public let embeddedCluster: EmbeddedKafkaCluster?
    public let bootstrapServers: String
    public let epoch: LogEpoch
    /// How rooms map to partitions; `nil` on a compactor-only node, which folds every partition.
    public let partitioner: RoomPartitioner?
    let admin: KafkaAdmin
    /// The node's services in start order; they stop in reverse order.
    let services: [any Service]
    let gateway: GatewayParts?
    let logger: Logger
    /// The listening port, known once the server runs.
    private let port = OneShot<Int>()

    /// Builds the node `configuration` describes; nothing runs until ``run()``.
    /// - Throws: ``ChatNodeStartupError`` saying what to change when the node cannot start.
    public static func build(configuration: ChatNodeConfiguration, logger: Logger = Logger(label: "chatd")) async throws -> ChatNode {
        let role = configuration.role ?? (configuration.brokers == nil ? .all : .gateway)
        if role == .compactor {
            guard configuration.brokers != nil else {
                throw ChatNodeStartupError(description: "the compactor role needs --brokers (or CHAT_BROKERS): it folds the log of a shared cluster")
            }
            guard configuration.snapshotDirectory != nil else {
                throw ChatNodeStartupError(
                    description: "the compactor role needs --snapshots (or CHAT_SNAPSHOT_DIR): it writes the history snapshots there")
            }
        } else {
            try await checkGatewaySecurity(configuration, logger: logger)
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
            return try await ChatNode(
                configuration: configuration, role: role, embedded: embedded, bootstrapServers: bootstrapServers, logger: logger)
        } catch {
            await embedded?.shutdown()
            throw error
        }
    }

    /// Refuses configurations that would let anyone mint tokens where that is not meant.
    private static func checkGatewaySecurity(_ configuration: ChatNodeConfiguration, logger: Logger) async throws {
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
    }

    private init(configuration: ChatNodeConfiguration, role: ChatNodeRole, embedded: EmbeddedKafkaCluster?, bootstrapServers: String, logger: Logger)
        async throws
    {
        let kafka = configuration.kafkaConfiguration(bootstrapServers: bootstrapServers)
        let backgroundConsumerKafka = configuration.consumerConfiguration(
            bootstrapServers: bootstrapServers, embedded: embedded != nil, embeddedFetchWaitMilliseconds: 50)
        let admin = try KafkaAdmin(configuration: kafka, logger: logger)
        let prometheus = PrometheusCollectorRegistry()
        let metricsFactory = PrometheusMetricsFactory(registry: prometheus)
        let router = Router(context: ChatRequestContext.self)
        var services: [any Service] = []
        let gateway: GatewayParts?
        let epoch: LogEpoch
        do {
            if role == .compactor {
                do {
                    epoch = LogEpoch(clusterID: try await admin.clusterID(), topic: ChatTopics.rooms)
                } catch {
                    throw ChatNodeStartupError(description: "cannot start the compactor: \(error); check --brokers and the network")
                }
                gateway = nil
            } else {
                let layout = try await Self.clusterLayout(configuration: configuration, admin: admin, bootstrapServers: bootstrapServers)
                epoch = layout.epoch
                gateway = try await GatewayParts(
                    configuration: configuration, layout: layout, admin: admin, bootstrapServers: bootstrapServers, embedded: embedded != nil,
                    metricsFactory: metricsFactory, logger: logger)
            }
        } catch {
            await admin.close()
            throw error
        }
        var compactor: Compactor?
        if let root = configuration.snapshotDirectory, role != .gateway {
            var compactorConfiguration = CompactorConfiguration(kafka: backgroundConsumerKafka, snapshotRoot: root)
            compactorConfiguration.duplicateSpan = configuration.duplicateSpan
            compactorConfiguration.policy = configuration.compactionPolicy
            do {
                compactor = try Compactor(
                    configuration: compactorConfiguration, admin: admin, epoch: epoch, metricsFactory: metricsFactory, logger: logger)
            } catch {
                await gateway?.close()
                await admin.close()
                throw error
            }
        }
        let health = NodeHealth(admin: admin, fanout: gateway?.fanout, lagLimit: configuration.gateway.readyLagLimit)
        OperationalRoutes.addRoutes(to: router, health: health, prometheus: prometheus)
        gateway?.gateway.addRoutes(to: router)

        let port = self.port
        let address = BindAddress.hostname(configuration.gateway.host, port: configuration.gateway.port)
        let onServerRunning: @Sendable (any Channel) async -> Void = { channel in
            port.resolve(channel.localAddress?.port ?? configuration.gateway.port)
        }
        let application: any Service
        if let gateway {
            application = Application(
                router: router, server: gateway.gateway.server(), configuration: .init(address: address, serverName: "chatd"),
                onServerRunning: onServerRunning, logger: logger)
        } else {
            application = Application(
                router: router, configuration: .init(address: address, serverName: "chatd-compactor"), onServerRunning: onServerRunning,
                logger: logger)
        }
        // Start order; shutdown runs it backwards: sessions drain with close 1001 first, then the
        // server, presence, the compactor, the fan-out and the producer stop in that order.
        if let gateway { services += [ProducerService(producer: gateway.producer), gateway.fanout] }
        if let compactor { services.append(compactor) }
        if let gateway { services += [gateway.presence, gateway.readPositions] }
        services.append(application)
        if let gateway { services.append(gateway.gateway.sessionDrain) }

        self.configuration = configuration
        self.role = role
        self.embeddedCluster = embedded
        self.bootstrapServers = bootstrapServers
        self.epoch = epoch
        self.partitioner = gateway?.partitioner
        self.admin = admin
        self.services = services
        self.gateway = gateway
        self.logger = logger
    }

    /// The port the server listens on, once it does (port 0 picks one).
    public func boundPort() async -> Int {
        await port.value()
    }

    /// Runs until graceful shutdown (SIGTERM / SIGINT when run by `chatd`), then closes the
    /// node's Kafka clients and its embedded cluster.
    public func run() async throws {
        let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) }, logger: logger))
        do {
            try await group.run()
        } catch {
            await shutdownClients()
            throw error
        }
        await shutdownClients()
    }

    private func shutdownClients() async {
        await gateway?.close()
        await admin.close()
        await embeddedCluster?.shutdown()
    }
}
