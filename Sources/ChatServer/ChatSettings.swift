import ChatGateway
import Foundation
import Logging

/// The settings of `chatd`: every option with its environment variable and default, in one
/// table (README's configuration table lists the same). `chatd` declares an option for each
/// and hands what it parsed to ``resolve(options:environment:)``.
public enum ChatSettings {
    /// What the settings produce: the node's configuration and the process's log level.
    public struct Resolved: Sendable {
        public var configuration: ChatNodeConfiguration
        public var logLevel: Logger.Level
    }

    /// Builds the configuration: for each setting, the option when given, else its environment
    /// variable when set and not empty, else its default.
    /// - Parameter options: what was given on the command line, by setting; a flag given is `["1"]`.
    /// - Throws: ``ChatSettingError`` naming the option or variable whose value is unusable.
    public static func resolve(options: [ChatSetting: [String]], environment: [String: String]) throws(ChatSettingError) -> Resolved {
        var resolved = Resolved(
            configuration: ChatNodeConfiguration(gateway: GatewayConfiguration(nodeID: ProcessInfo.processInfo.hostName)), logLevel: .info)
        for setting in all {
            if let values = options[setting]?.filter({ !$0.isEmpty }), !values.isEmpty {
                try setting.apply(values, setting.flagName, &resolved)
            } else if let text = environment[setting.variable], !text.isEmpty {
                try setting.apply(setting.kind == .list ? list(text) : [text], setting.variable, &resolved)
            } else if let value = setting.defaultValue {
                try setting.apply([value], "the default of \(setting.flagName)", &resolved)
            }
        }
        return resolved
    }

    static func list(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    static func properties(_ pairs: [String], source: String) throws(ChatSettingError) -> [String: String] {
        var properties: [String: String] = [:]
        for pair in pairs {
            guard let separator = pair.firstIndex(of: "=") else { throw ChatSettingError("\(source) takes key=value, got \(pair)") }
            properties[String(pair[..<separator])] = String(pair[pair.index(after: separator)...])
        }
        return properties
    }

    public static let brokers = ChatSetting.text(
        "brokers", "CHAT_BROKERS", summary: "Kafka bootstrap servers host:port,...", tail: ". Absent: an embedded development cluster."
    ) { value, _, settings in settings.configuration.brokers = value }
    public static let port = ChatSetting.integer("port", "CHAT_PORT", default: "8080", minimum: 0, summary: "HTTP and WebSocket port") {
        $1.configuration.gateway.port = $0
    }
    public static let host = ChatSetting.text("host", "CHAT_HOST", default: "0.0.0.0", summary: "Address to listen on") { value, _, settings in
        settings.configuration.gateway.host = value
    }
    public static let nodeID = ChatSetting.text(
        "node-id", "CHAT_NODE_ID", summary: "This node's id, unique in the cluster", note: ", default: hostname"
    ) { value, _, settings in settings.configuration.gateway.nodeID = value }
    public static let jwtSecret = ChatSetting.text(
        "jwt-secret", "CHAT_JWT_SECRET", summary: "HS256 secret of client tokens, at least 32 random bytes, e.g. `openssl rand -hex 32`",
        tail: ". Absent (embedded cluster only): development tokens from POST /v1/dev/token."
    ) { value, _, settings in settings.configuration.authentication = .sharedSecret(value) }
    /// Applies after ``jwtSecret``, which wins when both are given.
    public static let jwtPublicKeyFile = ChatSetting.text(
        "jwt-public-key-file", "CHAT_JWT_PUBLIC_KEY_FILE", summary: "PEM file of the RS256 public key of client tokens"
    ) { path, source, settings throws(ChatSettingError) in
        guard case .development = settings.configuration.authentication else { return }
        guard let pem = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ChatSettingError("cannot read the JWT public key file \(path) (\(source))")
        }
        settings.configuration.authentication = .publicKey(pem)
    }
    public static let jwtAudience = ChatSetting.text(
        "jwt-audience", "CHAT_JWT_AUDIENCE", summary: "Tokens must carry this aud claim", tail: ". Absent: aud is not checked."
    ) { value, _, settings in settings.configuration.jwtAudience = value }
    public static let jwtIssuer = ChatSetting.text(
        "jwt-issuer", "CHAT_JWT_ISSUER", summary: "Tokens must carry this iss claim", tail: ". Absent: iss is not checked."
    ) { value, _, settings in settings.configuration.jwtIssuer = value }
    public static let insecureDevTokens = ChatSetting.flag(
        "insecure-dev-tokens", "CHAT_INSECURE_DEV_TOKENS",
        summary: "Test clusters only: development tokens (POST /v1/dev/token, anyone may mint any token) with --brokers and no JWT key"
    ) { $0.configuration.insecureDevelopmentTokens = true }
    public static let allowedOrigin = ChatSetting.list(
        "allowed-origin", "CHAT_ALLOWED_ORIGINS", summary: "Allowed WebSocket Origin, repeatable", tail: ". Absent: any."
    ) { values, _, settings in settings.configuration.gateway.allowedOrigins = Set(values) }
    public static let kafkaProperty = ChatSetting.list(
        "kafka-property", "CHAT_KAFKA_PROPERTIES", summary: "librdkafka property key=value for every Kafka client, repeatable"
    ) { values, source, settings throws(ChatSettingError) in settings.configuration.kafkaProperties = try properties(values, source: source) }
    public static let kafkaConsumerProperty = ChatSetting.list(
        "kafka-consumer-property", "CHAT_KAFKA_CONSUMER_PROPERTIES", summary: "librdkafka property key=value for consumers only, repeatable"
    ) { values, source, settings throws(ChatSettingError) in settings.configuration.consumerProperties = try properties(values, source: source) }
    public static let roomPartitions = ChatSetting.integer(
        "room-partitions", "CHAT_ROOM_PARTITIONS", minimum: Int32(1), summary: "Room partition count rooms are hashed over",
        note: ", default: partitions of chat.rooms"
    ) { $1.configuration.roomPartitions = $0 }
    public static let embeddedPartitions = ChatSetting.integer(
        "embedded-partitions", "CHAT_EMBEDDED_PARTITIONS", default: "8", minimum: 1, summary: "Partitions per topic of the embedded cluster"
    ) { $1.configuration.embeddedPartitions = $0 }
    public static let pingInterval = ChatSetting.integer(
        "ping-interval", "CHAT_PING_INTERVAL", default: "30", minimum: 1,
        summary: "Seconds between WebSocket pings; a client silent until the next one is dropped"
    ) { $1.configuration.gateway.pingInterval = .seconds($0) }
    public static let readyLagLimit = ChatSetting.integer(
        "ready-lag-limit", "CHAT_READY_LAG_LIMIT", default: "10000", minimum: Int64(0),
        summary: "/readyz answers 503 while the fan-out is more than this many messages behind"
    ) { $1.configuration.gateway.readyLagLimit = $0 }
    public static let presenceHeartbeat = ChatSetting.integer(
        "presence-heartbeat", "CHAT_PRESENCE_HEARTBEAT", default: "5", minimum: 1, summary: "Seconds between this node's presence heartbeats"
    ) { $1.configuration.presenceHeartbeatInterval = .seconds($0) }
    public static let presenceStaleAfter = ChatSetting.integer(
        "presence-stale-after", "CHAT_PRESENCE_STALE_AFTER", default: "30", minimum: 1,
        summary: "Seconds without heartbeat after which a node's users are offline"
    ) { $1.configuration.presenceStaleAfter = .seconds($0) }
    public static let role = ChatSetting.text(
        "role", "CHAT_ROLE", summary: "What the process runs: gateway, compactor or all",
        note: ", default: all with the embedded cluster, else gateway"
    ) { value, source, settings throws(ChatSettingError) in
        guard let role = ChatNodeRole(rawValue: value) else { throw ChatSettingError("\(source) must be gateway, compactor or all, got \(value)") }
        settings.configuration.role = role
    }
    public static let snapshots = ChatSetting.text(
        "snapshots", "CHAT_SNAPSHOT_DIR", default: "./data/snapshots", summary: "History snapshot directory, shared by gateways and the compactor"
    ) { value, _, settings in settings.configuration.snapshotDirectory = value }
    public static let historyScanLimit = ChatSetting.integer(
        "history-scan-limit", "CHAT_HISTORY_SCAN_LIMIT", default: "100000", minimum: Int64(1),
        summary: "Most records before a partition's end a log-only history page or edit/delete lookup reads"
    ) { $1.configuration.historyScanLimit = $0 }
    public static let production = ChatSetting.flag(
        "production", "CHAT_PRODUCTION", summary: "Production mode: refuse to start without --brokers and a JWT secret or key"
    ) { $0.configuration.production = true }
    public static let logLevel = ChatSetting.text(
        "log-level", "CHAT_LOG_LEVEL", default: "info", summary: "Log level: trace, debug, info, notice, warning, error"
    ) { value, source, settings throws(ChatSettingError) in
        guard let level = Logger.Level(rawValue: value) else {
            throw ChatSettingError("\(source) must be trace, debug, info, notice, warning, error or critical, got \(value)")
        }
        settings.logLevel = level
    }

    // The bounds on what clients can make a node hold (docs/security.md).
    public static let maxRoomsPerSession = ChatSetting.integer(
        "max-rooms-per-session", "CHAT_MAX_ROOMS_PER_SESSION", default: "1000", minimum: 1, summary: "Rooms one session may have joined at once"
    ) { $1.configuration.gateway.maxRoomsPerSession = $0 }
    public static let maxSessionsPerUser = ChatSetting.integer(
        "max-sessions-per-user", "CHAT_MAX_SESSIONS_PER_USER", default: "100", minimum: 1,
        summary: "Open sessions of one user on this node; more are refused with 429"
    ) { $1.configuration.gateway.maxSessionsPerUser = $0 }
    public static let maxConnectionsPerIP = ChatSetting.integer(
        "max-connections-per-ip", "CHAT_MAX_CONNECTIONS_PER_IP", default: "1000", minimum: 1,
        summary: "Open WebSocket connections from one client IP on this node; more are refused with 429"
    ) { $1.configuration.gateway.maxConnectionsPerIP = $0 }
    public static let outboundQueueBytes = ChatSetting.integer(
        "outbound-queue-bytes", "CHAT_OUTBOUND_QUEUE_BYTES", default: "4194304", minimum: 1024,
        summary: "Bytes queued for a session before it is closed as too slow (4008)"
    ) { $1.configuration.gateway.outboundQueueBytes = $0 }
    public static let maxConcurrentReads = ChatSetting.integer(
        "max-concurrent-reads", "CHAT_MAX_CONCURRENT_READS", default: "64", minimum: 1,
        summary: "History reads and join catch-ups running at once on this node"
    ) { $1.configuration.gateway.maxConcurrentReads = $0 }
    public static let maxQueuedReads = ChatSetting.integer(
        "max-queued-reads", "CHAT_MAX_QUEUED_READS", default: "1024", minimum: 0, summary: "Reads waiting for a slot; more are refused with 'limit'"
    ) { $1.configuration.gateway.maxQueuedReads = $0 }
    public static let historyReaderQueue = ChatSetting.integer(
        "history-reader-queue", "CHAT_HISTORY_READER_QUEUE", default: "256", minimum: 1,
        summary: "History reads and edit/delete lookups waiting for the node's shared log reader; more get 'unavailable'"
    ) { $1.configuration.historyReaderQueueLimit = $0 }
    public static let requestHeadTimeout = ChatSetting.integer(
        "request-head-timeout", "CHAT_REQUEST_HEAD_TIMEOUT", default: "10", minimum: 1,
        summary: "Seconds a connection may take to send its request head before it is closed"
    ) { $1.configuration.gateway.requestHeadTimeout = .seconds($0) }
    public static let memoryBudgetMB = ChatSetting.integer(
        "memory-budget-mb", "CHAT_MEMORY_BUDGET_MB", default: "1024", minimum: 16,
        summary: "Memory budget in MiB; the producer queue gets a quarter of it"
    ) { $1.configuration.memoryBudgetMegabytes = $0 }

    /// Every setting, in the order they apply.
    public static let all: [ChatSetting] = [
        brokers, port, host, nodeID, jwtSecret, jwtPublicKeyFile, jwtAudience, jwtIssuer, insecureDevTokens, allowedOrigin, kafkaProperty,
        kafkaConsumerProperty, roomPartitions, embeddedPartitions, pingInterval, readyLagLimit, presenceHeartbeat, presenceStaleAfter, role,
        snapshots, historyScanLimit, production, logLevel, maxRoomsPerSession, maxSessionsPerUser, maxConnectionsPerIP, outboundQueueBytes,
        maxConcurrentReads, maxQueuedReads, historyReaderQueue, requestHeadTimeout, memoryBudgetMB,
    ]
}
