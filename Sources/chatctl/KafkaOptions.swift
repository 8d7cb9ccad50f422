import ArgumentParser
import Foundation
import Kafka
import Logging

/// How `chatctl lag` and `chatctl topics` reach the cluster.
struct KafkaOptions: ParsableArguments {
    @Option(help: "Kafka bootstrap servers host:port,... [CHAT_BROKERS].")
    var brokers: String?

    @Option(help: "librdkafka property key=value for every client (TLS, SASL), repeatable [CHAT_KAFKA_PROPERTIES, comma-separated].")
    var kafkaProperty: [String] = []

    @Option(help: "Seconds to wait for each broker round trip before giving up.")
    var timeout: Double = 10

    @Option(help: "Log level of the Kafka clients: trace, debug, info, notice, warning, error, critical [CHAT_LOG_LEVEL, default critical].")
    var logLevel: String?

    var timeoutDuration: Duration { .milliseconds(Int64(timeout * 1000)) }

    func validate() throws {
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
    }

    func configuration() throws -> KafkaConfiguration {
        let environment = ProcessInfo.processInfo.environment
        guard let servers = brokers ?? environment["CHAT_BROKERS"], !servers.isEmpty else {
            throw ValidationError("no brokers: pass --brokers host:port,... or set CHAT_BROKERS (chatctl kafka prints an embedded cluster's)")
        }
        let pairs =
            kafkaProperty.isEmpty
            ? (environment["CHAT_KAFKA_PROPERTIES"]?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } ?? []) : kafkaProperty
        var configuration = KafkaConfiguration(bootstrapServers: servers)
        for pair in pairs where !pair.isEmpty {
            guard let separator = pair.firstIndex(of: "=") else { throw ValidationError("--kafka-property takes key=value, got \(pair)") }
            configuration[String(pair[..<separator])] = String(pair[pair.index(after: separator)...])
        }
        // Fail within the timeout instead of retrying connections to an unreachable cluster.
        configuration = configuration.withDefaults(["socket.timeout.ms": String(max(1000, Int(timeout * 1000)))])
        return configuration
    }

    func logger(_ label: String) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = Logger.Level(rawValue: logLevel ?? ProcessInfo.processInfo.environment["CHAT_LOG_LEVEL"] ?? "critical") ?? .critical
        return logger
    }
}

/// Writes a line to stderr, for progress and errors that must not mix with the output.
func writeError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
