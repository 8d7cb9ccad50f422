import ArgumentParser
import ChatDomain
import ChatHistory
import Foundation
import Kafka
import Logging

/// Options shared by `chatctl replay` and `chatctl compact`.
struct HistoryCommandOptions: ParsableArguments {
    @Option(help: "Kafka bootstrap servers host:port,... [CHAT_BROKERS].")
    var brokers: String?

    @Option(help: "Snapshot directory [CHAT_SNAPSHOT_DIR, default ./data/snapshots].")
    var snapshots: String?

    @Option(help: "librdkafka property key=value for the Kafka clients, repeatable (TLS, SASL).")
    var kafkaProperty: [String] = []

    @Option(help: "Offsets back within which a post with the same (room, user, cmid) is a retry; must match the gateways.")
    var duplicateSpan: Int64 = 10_000

    @Option(help: "Seconds to wait for the cluster before giving up.")
    var timeout: Int = 10

    func kafkaConfiguration() throws -> KafkaConfiguration {
        let environment = ProcessInfo.processInfo.environment
        guard let brokers = brokers ?? environment["CHAT_BROKERS"].flatMap({ $0.isEmpty ? nil : $0 }) else {
            throw ValidationError("pass --brokers host:port,... (or set CHAT_BROKERS): the cluster whose history to read")
        }
        var configuration = KafkaConfiguration(bootstrapServers: brokers)
        for pair in kafkaProperty {
            guard let separator = pair.firstIndex(of: "=") else { throw ValidationError("--kafka-property takes key=value, got \(pair)") }
            configuration[String(pair[..<separator])] = String(pair[pair.index(after: separator)...])
        }
        // Bounded waits: an unreachable cluster must end the command, not hang it.
        configuration["socket.connection.setup.timeout.ms"] = configuration["socket.connection.setup.timeout.ms"] ?? String(timeout * 1000)
        configuration["fetch.wait.max.ms"] = configuration["fetch.wait.max.ms"] ?? "10"
        configuration["log_level"] = configuration["log_level"] ?? "3"
        return configuration
    }

    var snapshotRoot: String {
        snapshots ?? ProcessInfo.processInfo.environment["CHAT_SNAPSHOT_DIR"].flatMap { $0.isEmpty ? nil : $0 } ?? SnapshotDirectory.defaultRoot
    }

    /// The cluster's epoch, or exit 4 with a clear message when the cluster does not answer.
    func connect(_ admin: KafkaAdmin, brokers: String) async throws -> LogEpoch {
        do {
            let clusterID = try await admin.clusterID(timeout: .seconds(Int64(timeout)))
            return LogEpoch(clusterID: clusterID, topic: ChatTopics.rooms)
        } catch {
            throw CommandFailure.unreachable(
                "cannot reach Kafka at \(brokers) within \(timeout)s (\(error)); check --brokers and that the cluster runs")
        }
    }
}

/// Failures with their documented exit codes (docs/snapshots.md).
enum CommandFailure: Error, CustomStringConvertible {
    case unknownRoom(String)
    case unreachable(String)
    case corrupt(String)
    case failed(String)

    var exitCode: Int32 {
        switch self {
        case .failed: 1
        case .unknownRoom: 3
        case .unreachable: 4
        case .corrupt: 5
        }
    }

    var description: String {
        switch self {
        case .unknownRoom(let text), .unreachable(let text), .corrupt(let text), .failed(let text): text
        }
    }

    /// Maps errors of the history layer to a command failure.
    static func from(_ error: any Error) -> CommandFailure {
        if let failure = error as? CommandFailure { return failure }
        if let snapshot = error as? SnapshotError {
            switch snapshot {
            case .corruptSegment, .corruptManifest: return .corrupt("\(snapshot)")
            default: return .failed("\(snapshot)")
            }
        }
        if let kafka = error as? KafkaError { return .unreachable("Kafka: \(kafka)") }
        return .failed("\(error)")
    }
}

/// Writes stdout in large chunks: a replay prints up to millions of lines.
final class OutputBuffer: @unchecked Sendable {
    private var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(1 << 17) }

    func line(_ text: String) {
        bytes.append(contentsOf: text.utf8)
        bytes.append(0x0A)
        if bytes.count >= 1 << 16 { flush() }
    }

    func flush() {
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let written = write(1, buffer.baseAddress! + offset, buffer.count - offset)
                if written <= 0 { break }
                offset += written
            }
        }
        bytes.removeAll(keepingCapacity: true)
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

func quietLogger(_ label: String) -> Logger {
    var logger = Logger(label: label)
    logger.logLevel = .critical
    return logger
}
