import ArgumentParser
import ChatCompactor
import ChatGateway
import Kafka
import Logging
import ServiceLifecycle

/// What a `chatd` process runs.
enum ChatdRole: String, ExpressibleByArgument, CaseIterable {
    /// WebSocket gateway only.
    case gateway
    /// The history compactor only (with /healthz, /readyz, /metrics).
    case compactor
    /// Gateway and compactor in one process.
    case all

    static func parse(_ text: String) throws -> ChatdRole {
        guard let role = ChatdRole(rawValue: text) else { throw ValidationError("CHAT_ROLE must be gateway, compactor or all, got \(text)") }
        return role
    }
}

extension Chatd {
    /// `--role compactor`: folds `chat.rooms` into the snapshot directory until SIGTERM / SIGINT.
    func runCompactor(configuration: ChatNodeConfiguration, logger: Logger) async throws {
        guard let brokers = configuration.brokers else {
            logger.critical("the compactor role needs --brokers (or CHAT_BROKERS): it folds the log of a shared cluster")
            throw ExitCode(2)
        }
        let kafka = KafkaConfiguration(bootstrapServers: brokers, properties: configuration.kafkaProperties)
        var consumerKafka = kafka
        consumerKafka.properties.merge(configuration.consumerProperties) { _, consumer in consumer }
        var compactorConfiguration = CompactorConfiguration(kafka: consumerKafka, snapshotRoot: configuration.snapshotDirectory ?? "./data/snapshots")
        compactorConfiguration.duplicateSpan = configuration.duplicateSpan
        let node: CompactorNode
        do {
            node = try await CompactorNode(
                configuration: compactorConfiguration, kafka: kafka, host: configuration.gateway.host, port: configuration.gateway.port, logger: logger)
        } catch {
            logger.critical("cannot start the compactor: \(error); check --brokers and the network")
            throw ExitCode(2)
        }
        logger.info("chatd compactor running", metadata: ["port": "\(configuration.gateway.port)", "snapshots": "\(compactorConfiguration.snapshotRoot)"])
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: node)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
