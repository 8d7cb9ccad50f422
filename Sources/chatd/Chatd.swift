import ArgumentParser
import ChatGateway
import Foundation
import Logging
import ServiceLifecycle

/// The chat server. With no brokers it starts an embedded Kafka cluster (development).
@main
struct Chatd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chatd",
        abstract: "Real-time chat gateway on Kafka.",
        discussion: "Every option can also be set by an environment variable (shown in brackets); options win over the environment.")

    @Option(help: "Kafka bootstrap servers host:port,... [CHAT_BROKERS]. Absent: an embedded development cluster.")
    var brokers: String?

    @Option(help: "HTTP and WebSocket port [CHAT_PORT, default 8080].")
    var port: Int?

    @Option(help: "Address to listen on [CHAT_HOST, default 0.0.0.0].")
    var host: String?

    @Option(help: "This node's id, unique in the cluster [CHAT_NODE_ID, default: hostname].")
    var nodeId: String?

    @Option(
        help:
            "HS256 secret of client tokens, at least 32 random bytes, e.g. `openssl rand -hex 32` [CHAT_JWT_SECRET]. Absent (embedded cluster only): development tokens from POST /v1/dev/token."
    )
    var jwtSecret: String?

    @Option(help: "PEM file of the RS256 public key of client tokens [CHAT_JWT_PUBLIC_KEY_FILE].")
    var jwtPublicKeyFile: String?

    @Option(help: "Tokens must carry this aud claim [CHAT_JWT_AUDIENCE]. Absent: aud is not checked.")
    var jwtAudience: String?

    @Option(help: "Tokens must carry this iss claim [CHAT_JWT_ISSUER]. Absent: iss is not checked.")
    var jwtIssuer: String?

    @Flag(help: "Test clusters only: development tokens (POST /v1/dev/token, anyone may mint any token) with --brokers and no JWT key [CHAT_INSECURE_DEV_TOKENS=1].")
    var insecureDevTokens = false

    @Option(help: "Allowed WebSocket Origin, repeatable [CHAT_ALLOWED_ORIGINS, comma-separated]. Absent: any.")
    var allowedOrigin: [String] = []

    @Option(help: "librdkafka property key=value for every Kafka client, repeatable [CHAT_KAFKA_PROPERTIES, comma-separated].")
    var kafkaProperty: [String] = []

    @Option(help: "librdkafka property key=value for consumers only, repeatable [CHAT_KAFKA_CONSUMER_PROPERTIES, comma-separated].")
    var kafkaConsumerProperty: [String] = []

    @Option(help: "Room partition count rooms are hashed over [CHAT_ROOM_PARTITIONS, default: partitions of chat.rooms].")
    var roomPartitions: Int32?

    @Option(help: "Partitions per topic of the embedded cluster [CHAT_EMBEDDED_PARTITIONS, default 8].")
    var embeddedPartitions: Int?

    @Option(help: "Seconds between WebSocket pings; a client silent until the next one is dropped [CHAT_PING_INTERVAL, default 30].")
    var pingInterval: Int?

    @Option(help: "/readyz answers 503 while the fan-out is more than this many messages behind [CHAT_READY_LAG_LIMIT, default 10000].")
    var readyLagLimit: Int64?

    @Option(help: "Seconds between this node's presence heartbeats [CHAT_PRESENCE_HEARTBEAT, default 5].")
    var presenceHeartbeat: Int?

    @Option(help: "Seconds without heartbeat after which a node's users are offline [CHAT_PRESENCE_STALE_AFTER, default 30].")
    var presenceStaleAfter: Int?

    @Option(help: "What the process runs: gateway, compactor or all [CHAT_ROLE, default: all with the embedded cluster, else gateway].")
    var role: ChatdRole?

    @Option(help: "History snapshot directory, shared by gateways and the compactor [CHAT_SNAPSHOT_DIR, default ./data/snapshots].")
    var snapshots: String?

    @Option(help: "Most records before a partition's end a log-only history page or edit/delete lookup reads [CHAT_HISTORY_SCAN_LIMIT, default 100000].")
    var historyScanLimit: Int64?

    @Flag(help: "Production mode: refuse to start without --brokers and a JWT secret or key [CHAT_PRODUCTION=1].")
    var production = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error [CHAT_LOG_LEVEL, default info].")
    var logLevel: String?

    @OptionGroup(title: "Limits")
    var limits: LimitOptions

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        var logger = Logger(label: "chatd")
        logger.logLevel = Logger.Level(rawValue: logLevel ?? environment["CHAT_LOG_LEVEL"] ?? "info") ?? .info

        let nodeID = nodeId ?? environment["CHAT_NODE_ID"] ?? ProcessInfo.processInfo.hostName
        var gateway = GatewayConfiguration(nodeID: nodeID)
        gateway.port = port ?? environment["CHAT_PORT"].flatMap(Int.init) ?? 8080
        gateway.host = host ?? environment["CHAT_HOST"] ?? "0.0.0.0"
        let origins = allowedOrigin.isEmpty ? (environment["CHAT_ALLOWED_ORIGINS"].map(Self.list) ?? []) : allowedOrigin
        gateway.allowedOrigins = Set(origins)
        if let seconds = pingInterval ?? environment["CHAT_PING_INTERVAL"].flatMap(Int.init) { gateway.pingInterval = .seconds(seconds) }
        if let limit = readyLagLimit ?? environment["CHAT_READY_LAG_LIMIT"].flatMap(Int64.init) {
            guard limit >= 0 else { throw ValidationError("--ready-lag-limit must not be negative") }
            gateway.readyLagLimit = limit
        }

        var configuration = ChatNodeConfiguration(gateway: gateway)
        configuration.brokers = brokers ?? environment["CHAT_BROKERS"].flatMap { $0.isEmpty ? nil : $0 }
        configuration.roomPartitions = roomPartitions ?? environment["CHAT_ROOM_PARTITIONS"].flatMap(Int32.init)
        configuration.embeddedPartitions = embeddedPartitions ?? environment["CHAT_EMBEDDED_PARTITIONS"].flatMap(Int.init) ?? 8
        if let seconds = presenceHeartbeat ?? environment["CHAT_PRESENCE_HEARTBEAT"].flatMap(Int.init) {
            configuration.presenceHeartbeatInterval = .seconds(seconds)
        }
        if let seconds = presenceStaleAfter ?? environment["CHAT_PRESENCE_STALE_AFTER"].flatMap(Int.init) {
            configuration.presenceStaleAfter = .seconds(seconds)
        }
        try limits.apply(to: &configuration)
        configuration.production = production || environment["CHAT_PRODUCTION"] == "1"
        if let limit = historyScanLimit ?? environment["CHAT_HISTORY_SCAN_LIMIT"].flatMap(Int64.init) {
            guard limit >= 1 else { throw ValidationError("--history-scan-limit must be at least 1") }
            configuration.historyScanLimit = limit
        }
        configuration.snapshotDirectory = snapshots ?? environment["CHAT_SNAPSHOT_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "./data/snapshots"
        let role = try self.role ?? environment["CHAT_ROLE"].map(ChatdRole.parse)
        if let role { configuration.runsCompactor = role == .all }
        let properties = kafkaProperty.isEmpty ? (environment["CHAT_KAFKA_PROPERTIES"].map(Self.list) ?? []) : kafkaProperty
        configuration.kafkaProperties = try Self.properties(properties, option: "--kafka-property")
        let consumerProperties =
            kafkaConsumerProperty.isEmpty ? (environment["CHAT_KAFKA_CONSUMER_PROPERTIES"].map(Self.list) ?? []) : kafkaConsumerProperty
        configuration.consumerProperties = try Self.properties(consumerProperties, option: "--kafka-consumer-property")
        if let secret = jwtSecret ?? environment["CHAT_JWT_SECRET"], !secret.isEmpty {
            configuration.authentication = .sharedSecret(secret)
        } else if let path = jwtPublicKeyFile ?? environment["CHAT_JWT_PUBLIC_KEY_FILE"] {
            guard let pem = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ValidationError("cannot read the JWT public key file \(path)")
            }
            configuration.authentication = .publicKey(pem)
        }

        configuration.jwtAudience = jwtAudience ?? environment["CHAT_JWT_AUDIENCE"].flatMap { $0.isEmpty ? nil : $0 }
        configuration.jwtIssuer = jwtIssuer ?? environment["CHAT_JWT_ISSUER"].flatMap { $0.isEmpty ? nil : $0 }
        configuration.insecureDevelopmentTokens = insecureDevTokens || environment["CHAT_INSECURE_DEV_TOKENS"] == "1"

        if role == .compactor {
            try await runCompactor(configuration: configuration, logger: logger)
            return
        }
        let node: ChatNode
        do {
            node = try await ChatNode.build(configuration: configuration, logger: logger)
        } catch let error as ChatNodeStartupError {
            logger.critical("\(error.description)")
            throw ExitCode(2)
        }
        Task { [logger] in
            let port = await node.boundPort()
            logger.info("chatd listening", metadata: ["port": "\(port)", "node": "\(nodeID)", "kafka": "\(node.bootstrapServers)"])
        }
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: node)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    static func properties(_ pairs: [String], option: String) throws -> [String: String] {
        var properties: [String: String] = [:]
        for pair in pairs {
            guard let separator = pair.firstIndex(of: "=") else { throw ValidationError("\(option) takes key=value, got \(pair)") }
            properties[String(pair[..<separator])] = String(pair[pair.index(after: separator)...])
        }
        return properties
    }

    static func list(_ text: String) -> [String] {
        text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}
