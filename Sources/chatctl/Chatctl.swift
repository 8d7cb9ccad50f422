import ArgumentParser

/// The operator's command line.
@main
struct Chatctl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chatctl",
        abstract: "Operate a Kafka chat deployment.",
        subcommands: [
            EmbeddedKafkaCommand.self, LagCommand.self, TopicsCommand.self, ReplayCommand.self, CompactCommand.self, RoomsCommand.self,
        ])
}
