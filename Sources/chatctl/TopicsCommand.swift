import ArgumentParser
import ChatDomain
import ChatProvisioning
import Foundation
import Kafka

/// `chatctl topics`: the chat topics on a cluster.
struct TopicsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "topics",
        abstract: "Provision and check the chat topics.",
        subcommands: [TopicsApplyCommand.self])
}

/// `chatctl topics apply`: creates missing topics and reports drift of existing ones.
struct TopicsApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Create the chat topics that are missing; check the others against the layout.",
        discussion: """
            Idempotent: a second run changes nothing. Existing topics are never changed: a partition count, replication \
            factor or configuration that differs from the layout is reported as drift, with what to do about it. In \
            particular chat.rooms is never grown here: growing it must not move rooms (docs/deploy.md, section 7).

            Configurations are compared where the cluster answers DescribeConfigs; librdkafka's mock cluster (chatctl \
            kafka) does not, and the output says so. It cannot create topics either: chatctl kafka creates them itself.

            Exit status: 0 when every topic is in place or was created, 3 when some topic drifted, 1 when a topic \
            could not be created, 2 when the cluster could not be read.
            """)

    @OptionGroup var kafka: KafkaOptions

    @Option(help: "Partitions of every topic [CHAT_PARTITIONS, default 12].")
    var partitions: Int?

    @Option(help: "Replication factor of every topic [CHAT_REPLICATION_FACTOR, default 3]; min.insync.replicas follows (2 with 3).")
    var replicationFactor: Int?

    @Flag(help: "Print what would be done, change nothing.")
    var dryRun = false

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        let layout = ChatTopicLayout(
            partitions: partitions ?? environment["CHAT_PARTITIONS"].flatMap(Int.init) ?? 12,
            replicationFactor: replicationFactor ?? environment["CHAT_REPLICATION_FACTOR"].flatMap(Int.init) ?? 3)
        guard layout.partitions > 0, layout.replicationFactor > 0 else {
            throw ValidationError("--partitions and --replication-factor must be positive")
        }
        let configuration = try kafka.configuration()
        let admin = try KafkaAdmin(configuration: configuration, logger: kafka.logger("chatctl.topics"))
        do {
            try await apply(
                layout, provisioner: TopicProvisioner(admin: admin, timeout: kafka.timeoutDuration), servers: configuration.bootstrapServers)
        } catch {
            await admin.close()
            throw error
        }
        await admin.close()
    }

    private func apply(_ layout: ChatTopicLayout, provisioner: TopicProvisioner, servers: String) async throws {
        let observation: TopicProvisioner.Observation
        do {
            observation = try await provisioner.observe(layout)
        } catch {
            writeError("error: cannot read the topics of \(servers): \(error)")
            writeError("Check --brokers (and --kafka-property for TLS / SASL), and that the brokers are up.")
            throw ExitCode(2)
        }
        let plan = TopicPlan.make(layout: layout, observed: observation.topics, configsVerified: observation.configsVerified)
        writeLine(
            "cluster \(servers): \(observation.brokers) broker(s); layout: \(layout.partitions) partitions, replication factor \(layout.replicationFactor)"
        )
        if let note = observation.configNote { writeLine("note: \(note)") }
        for line in plan.describe(dryRun: dryRun) { writeLine(line) }
        let creates = plan.creates
        if !creates.isEmpty && layout.replicationFactor > observation.brokers {
            writeError(
                "error: replication factor \(layout.replicationFactor) needs at least \(layout.replicationFactor) brokers; the cluster has \(observation.brokers)"
            )
            throw ExitCode(1)
        }
        if !dryRun && !creates.isEmpty {
            let results: [String: KafkaErrorCode]
            do {
                results = try await provisioner.create(creates, observation: observation)
            } catch {
                writeError("error: cannot create \(creates.map(\.name).joined(separator: ", ")): \(error)")
                throw ExitCode(1)
            }
            var failed = false
            for topic in creates {
                let code = results[topic.name] ?? .noError
                if code == .noError {
                    writeLine("\(topic.name): created")
                } else {
                    failed = true
                    writeLine("\(topic.name): NOT created: \(code.description) (\(code.name))")
                }
            }
            if failed { throw ExitCode(1) }
        }
        let summary =
            plan.hasDrift
            ? "drift found: the topics above marked DRIFT were left unchanged"
            : creates.isEmpty ? "all topics in place, nothing to do" : dryRun ? "\(creates.count) topic(s) to create" : "done"
        writeLine(summary)
        if plan.hasDrift { throw ExitCode(3) }
    }
}
