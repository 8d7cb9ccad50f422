import ArgumentParser
import ChatDomain
import ChatProvisioning
import Foundation
import Kafka
import Logging
import ServiceLifecycle

/// `chatctl kafka`: an embedded Kafka cluster as a process of its own, so several `chatd`
/// processes can share it; fault injection through commands on stdin.
struct EmbeddedKafkaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka",
        abstract: "Run an embedded Kafka cluster (librdkafka's mock brokers) with the chat topics.",
        discussion: """
            Prints the bootstrap servers as the first line of stdout, then runs until SIGTERM or SIGINT.
            Commands read from stdin, one per line (the end of stdin does not stop the cluster):
              down <broker>                       take a broker down
              up <broker>                         bring it back
              leader <topic> <partition> <broker> move a partition's leader
              rtt <broker> <milliseconds>         delay every answer of a broker
              errors <api-key> <code>...          fail the next requests of an API (e.g. errors 0 6 7)
              create <topic> <partitions> [<rf>]  create a topic (the brokers do not implement CreateTopics)
            Each command answers "ok" or "error: ..." on stdout.
            """)

    @Option(help: "Number of brokers.")
    var brokersCount: Int = 3

    @Option(help: "Partitions of each chat topic.")
    var partitions: Int = 8

    @Flag(help: "Start without the chat topics (for example to try chatctl topics apply; create them with `create`).")
    var noTopics = false

    func run() async throws {
        var logger = Logger(label: "chatctl.kafka")
        logger.logLevel = .warning
        let cluster = try EmbeddedKafkaCluster(brokers: brokersCount, logger: logger)
        if !noTopics {
            for topic in ChatTopicLayout(partitions: partitions, replicationFactor: min(3, brokersCount)).topics {
                try cluster.createTopic(topic.name, partitions: topic.partitions, replicationFactor: topic.replicationFactor)
            }
        }
        writeLine(cluster.bootstrapServers)
        let commands = Thread {
            while let line = readLine() {
                writeLine(FaultCommand.apply(line, to: cluster))
            }
        }
        commands.start()
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: ClusterService(cluster: cluster))], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}

/// Keeps the cluster up until shutdown.
struct ClusterService: Service {
    let cluster: EmbeddedKafkaCluster

    func run() async throws {
        try? await gracefulShutdown()
        await cluster.shutdown()
    }
}

/// The fault-injection commands of `chatctl kafka`.
enum FaultCommand {
    static func apply(_ line: String, to cluster: EmbeddedKafkaCluster) -> String {
        let words = line.split(separator: " ").map(String.init)
        guard let verb = words.first else { return "error: empty command" }
        do {
            switch (verb, words.count) {
            case ("down", 2):
                try cluster.setBrokerDown(try int32(words[1]))
            case ("up", 2):
                try cluster.setBrokerUp(try int32(words[1]))
            case ("leader", 4):
                try cluster.setPartitionLeader(topic: words[1], partition: try int32(words[2]), broker: try int32(words[3]))
            case ("rtt", 3):
                try cluster.setBrokerRoundTripTime(try int32(words[1]), .milliseconds(try int32(words[2])))
            case ("create", 3), ("create", 4):
                guard let partitions = Int(words[2]), partitions > 0 else { return "error: partitions must be a positive number" }
                let replication = words.count == 4 ? Int(words[3]) : min(3, cluster.brokerCount)
                guard let replication, replication > 0 else { return "error: replication factor must be a positive number" }
                try cluster.createTopic(words[1], partitions: partitions, replicationFactor: replication)
            case ("errors", 3...):
                guard let api = Int16(words[1]) else { return "error: api key must be a number" }
                let codes = try words.dropFirst(2).map { KafkaErrorCode(rawValue: try int32($0)) }
                cluster.pushRequestErrors(api: KafkaAPIKey(rawValue: api), errors: codes)
            default:
                return "error: unknown command \(line); see chatctl kafka --help"
            }
            return "ok"
        } catch {
            return "error: \(error)"
        }
    }

    private static func int32(_ text: String) throws -> Int32 {
        guard let value = Int32(text) else { throw ValidationError("\(text) is not a number") }
        return value
    }
}

/// Writes a line to stdout unbuffered, so a parent process reading it sees it at once.
func writeLine(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
