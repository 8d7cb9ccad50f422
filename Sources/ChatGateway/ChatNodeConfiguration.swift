import ChatDomain
import Kafka

/// Everything a `chatd` process is configured with.
public struct ChatNodeConfiguration: Sendable {
    public var gateway: GatewayConfiguration
    /// `host:port,...` of a real cluster; `nil` starts an embedded cluster in the process.
    public var brokers: String?
    /// librdkafka properties passed to every client (TLS, SASL, tuning).
    public var kafkaProperties: [String: String] = [:]
    /// librdkafka properties for consumers only (for example `fetch.wait.max.ms`).
    public var consumerProperties: [String: String] = [:]
    /// Recent events the fan-out keeps per room.
    public var cachedEventsPerRoom: Int = 1000
    public var embeddedBrokerCount: Int = 3
    /// Partitions of `chat.rooms` and `chat.signals` created on the embedded cluster.
    public var embeddedPartitions: Int = 8
    /// The room partition count rooms are hashed over; `nil` uses the partition count `chat.rooms`
    /// has at start-up. Pin it before growing the topic (docs/architecture.md).
    public var roomPartitions: Int32?
    public var authentication: TokenAuthority.Mode = .development
    /// Refuse to start without brokers and without a JWT secret or key.
    public var production = false
    public var duplicateSpan: Int64 = 10_000
    /// Root of the history snapshot directory (`--snapshots`); `nil` reads history from the log only.
    public var snapshotDirectory: String?
    /// Whether the node also runs the compactor (needs ``snapshotDirectory``); `nil` runs it exactly
    /// when the cluster is embedded, so a development node keeps its history without more setup.
    public var runsCompactor: Bool?
    /// How often the node heartbeats on `chat.presence`.
    public var presenceHeartbeatInterval: Duration = .seconds(5)
    /// A node silent this long has its users marked offline everywhere.
    public var presenceStaleAfter: Duration = .seconds(30)

    public init(gateway: GatewayConfiguration) {
        self.gateway = gateway
    }

    func kafkaConfiguration(bootstrapServers: String) -> KafkaConfiguration {
        KafkaConfiguration(bootstrapServers: bootstrapServers, properties: kafkaProperties)
    }

    func consumerConfiguration(bootstrapServers: String, embedded: Bool) -> KafkaConfiguration {
        var configuration = kafkaConfiguration(bootstrapServers: bootstrapServers)
        configuration.properties.merge(consumerProperties) { _, consumer in consumer }
        if embedded {
            // The embedded (mock) brokers wait the full fetch.wait.max.ms before answering a fetch.
            configuration = configuration.withDefaults(["fetch.wait.max.ms": "2"])
        }
        return configuration
    }
}

/// Why a node refuses to start; the message says what to do.
public struct ChatNodeStartupError: Error, CustomStringConvertible {
    public var description: String
}
