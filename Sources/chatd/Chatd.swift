import ArgumentParser
import ChatServer
import Foundation
import Logging
import ServiceLifecycle

/// The chat server. With no brokers it starts an embedded Kafka cluster (development).
///
/// It only parses options: what they mean, their environment variables and defaults are
/// ``ChatSettings``, and ChatServer builds and runs the node.
@main
struct Chatd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chatd",
        abstract: "Real-time chat gateway on Kafka.",
        discussion: "Every option can also be set by an environment variable (shown in brackets); options win over the environment.")

    @Option(help: .init(ChatSettings.brokers.help)) var brokers: String?
    @Option(help: .init(ChatSettings.port.help)) var port: String?
    @Option(help: .init(ChatSettings.host.help)) var host: String?
    @Option(help: .init(ChatSettings.nodeID.help)) var nodeId: String?
    @Option(help: .init(ChatSettings.jwtSecret.help)) var jwtSecret: String?
    @Option(help: .init(ChatSettings.jwtPublicKeyFile.help)) var jwtPublicKeyFile: String?
    @Option(help: .init(ChatSettings.jwtAudience.help)) var jwtAudience: String?
    @Option(help: .init(ChatSettings.jwtIssuer.help)) var jwtIssuer: String?
    @Flag(help: .init(ChatSettings.insecureDevTokens.help)) var insecureDevTokens = false
    @Option(help: .init(ChatSettings.allowedOrigin.help)) var allowedOrigin: [String] = []
    @Option(help: .init(ChatSettings.kafkaProperty.help)) var kafkaProperty: [String] = []
    @Option(help: .init(ChatSettings.kafkaConsumerProperty.help)) var kafkaConsumerProperty: [String] = []
    @Option(help: .init(ChatSettings.roomPartitions.help)) var roomPartitions: String?
    @Option(help: .init(ChatSettings.embeddedPartitions.help)) var embeddedPartitions: String?
    @Option(help: .init(ChatSettings.pingInterval.help)) var pingInterval: String?
    @Option(help: .init(ChatSettings.readyLagLimit.help)) var readyLagLimit: String?
    @Option(help: .init(ChatSettings.presenceHeartbeat.help)) var presenceHeartbeat: String?
    @Option(help: .init(ChatSettings.presenceStaleAfter.help)) var presenceStaleAfter: String?
    @Option(help: .init(ChatSettings.role.help)) var role: String?
    @Option(help: .init(ChatSettings.snapshots.help)) var snapshots: String?
    @Option(help: .init(ChatSettings.historyScanLimit.help)) var historyScanLimit: String?
    @Flag(help: .init(ChatSettings.production.help)) var production = false
    @Option(help: .init(ChatSettings.logLevel.help)) var logLevel: String?

    @OptionGroup(title: "Limits")
    var limits: LimitOptions

    /// What was given on the command line, by setting.
    var given: [ChatSetting: [String]] {
        var given = limits.given
        func add(_ setting: ChatSetting, _ value: String?) { if let value { given[setting] = [value] } }
        add(ChatSettings.brokers, brokers)
        add(ChatSettings.port, port)
        add(ChatSettings.host, host)
        add(ChatSettings.nodeID, nodeId)
        add(ChatSettings.jwtSecret, jwtSecret)
        add(ChatSettings.jwtPublicKeyFile, jwtPublicKeyFile)
        add(ChatSettings.jwtAudience, jwtAudience)
        add(ChatSettings.jwtIssuer, jwtIssuer)
        add(ChatSettings.insecureDevTokens, insecureDevTokens ? "1" : nil)
        given[ChatSettings.allowedOrigin] = allowedOrigin
        given[ChatSettings.kafkaProperty] = kafkaProperty
        given[ChatSettings.kafkaConsumerProperty] = kafkaConsumerProperty
        add(ChatSettings.roomPartitions, roomPartitions)
        add(ChatSettings.embeddedPartitions, embeddedPartitions)
        add(ChatSettings.pingInterval, pingInterval)
        add(ChatSettings.readyLagLimit, readyLagLimit)
        add(ChatSettings.presenceHeartbeat, presenceHeartbeat)
        add(ChatSettings.presenceStaleAfter, presenceStaleAfter)
        add(ChatSettings.role, role)
        add(ChatSettings.snapshots, snapshots)
        add(ChatSettings.historyScanLimit, historyScanLimit)
        add(ChatSettings.production, production ? "1" : nil)
        add(ChatSettings.logLevel, logLevel)
        return given
    }

    func run() async throws {
        let settings: ChatSettings.Resolved
        do {
            settings = try ChatSettings.resolve(options: given, environment: ProcessInfo.processInfo.environment)
        } catch {
            throw ValidationError(error.description)
        }
        var logger = Logger(label: "chatd")
        logger.logLevel = settings.logLevel
        let node: ChatNode
        do {
            node = try await ChatNode.build(configuration: settings.configuration, logger: logger)
        } catch let error as ChatNodeStartupError {
            logger.critical("\(error.description)")
            throw ExitCode(2)
        }
        Task { [logger] in
            let port = await node.boundPort()
            if node.role == .compactor {
                logger.info("chatd compactor running", metadata: ["port": "\(port)", "snapshots": "\(node.configuration.snapshotDirectory ?? "")"])
            } else {
                logger.info(
                    "chatd listening",
                    metadata: ["port": "\(port)", "node": "\(node.configuration.gateway.nodeID)", "kafka": "\(node.bootstrapServers)"])
            }
        }
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: node)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
