import ChatCompactor
import ChatDomain
import ChatGateway
import Kafka

/// What a chat process runs.
public enum ChatNodeRole: String, Sendable, CaseIterable {
    /// The WebSocket gateway only.
    case gateway
    /// The history compactor only, with the operational routes.
    case compactor
    /// Gateway and compactor in one process.
    case all
}

/// Everything a `chatd` process is configured with, whatever its role.
public struct ChatNodeConfiguration: Sendable {
    /// The gateway's settings; a compactor-only node uses only its host and port.
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
    /// Allows ``TokenAuthority/Mode/development`` (anyone may mint any token, admin included) on
    /// real brokers; without it such a node refuses to start. For test clusters only.
    public var insecureDevelopmentTokens = false
    /// When set, tokens must carry this `aud`.
    public var jwtAudience: String?
    /// When set, tokens must carry this `iss`.
    public var jwtIssuer: String?
    /// Refuse to start without brokers and without a JWT secret or key.
    public var production = false
    public var duplicateSpan: Int64 = 10_000
    /// The most records before a partition's end a log-only history page or an edit/delete lookup
    /// reads (`--history-scan-limit`); older pages need snapshots.
    public var historyScanLimit: Int64 = 100_000
    /// History reads and lookups that may wait for the node's shared reader; more fail as unavailable.
    public var historyReaderQueueLimit: Int = 256
    /// Root of the history snapshot directory (`--snapshots`); `nil` reads history from the log only.
    public var snapshotDirectory: String?
    /// What the node runs; `nil` runs gateway and compactor exactly when the cluster is embedded,
    /// so a development node keeps its history without more setup, else the gateway only. The
    /// compactor needs ``snapshotDirectory``.
    public var role: ChatNodeRole?
    /// When the compactor writes and merges segments.
    public var compactionPolicy = CompactionPolicy()
    /// How often the node heartbeats on `chat.presence`.
    public var presenceHeartbeatInterval: Duration = .seconds(5)
    /// A node silent this long has its users marked offline everywhere.
    public var presenceStaleAfter: Duration = .seconds(30)

    /// Memory the node may use for buffers it does not otherwise bound; a quarter of it is the
    /// producer's queue (`queue.buffering.max.kbytes`).
    public var memoryBudgetMegabytes: Int = 1024

    /// The producer queue's size: its share of ``memoryBudgetMegabytes``.
    var producerQueueKilobytes: Int { memoryBudgetMegabytes * 1024 / 4 }

    public init(gateway: GatewayConfiguration) {
        self.gateway = gateway
    }

    func tokenAuthority() async throws -> TokenAuthority {
        try await TokenAuthority(mode: authentication, audience: jwtAudience, issuer: jwtIssuer)
    }

    func kafkaConfiguration(bootstrapServers: String) -> KafkaConfiguration {
        KafkaConfiguration(bootstrapServers: bootstrapServers, properties: kafkaProperties)
    }

    /// Consumer settings; on the embedded cluster `fetch.wait.max.ms` defaults to
    /// `embeddedFetchWaitMilliseconds`.
    ///
    /// The embedded (mock) brokers hold a fetch with no data for the full `fetch.wait.max.ms`, even
    /// when records arrive meanwhile, so that setting is both the delivery delay it adds and how
    /// often an idle consumer re-fetches. The fan-out and history readers want 2 ms; presence, read
    /// positions and the compactor are fine with 50 ms, which keeps an idle development node cheap.
    func consumerConfiguration(bootstrapServers: String, embedded: Bool, embeddedFetchWaitMilliseconds: Int = 2) -> KafkaConfiguration {
        var configuration = kafkaConfiguration(bootstrapServers: bootstrapServers)
        configuration.properties.merge(consumerProperties) { _, consumer in consumer }
        if embedded {
            configuration = configuration.withDefaults(["fetch.wait.max.ms": String(embeddedFetchWaitMilliseconds)])
        }
        return configuration
    }
}

/// Why a node refuses to start; the message says what to do.
public struct ChatNodeStartupError: Error, CustomStringConvertible {
    public var description: String
}
