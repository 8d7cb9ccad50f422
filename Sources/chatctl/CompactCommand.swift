import ArgumentParser
import ChatCompactor
import ChatDomain
import ChatHistory
import Foundation
import Kafka

/// `chatctl compact`: one compaction pass up to the current end of every partition.
struct CompactCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compact",
        abstract: "Fold chat.rooms into history snapshots once, up to the current end of the log.",
        discussion: """
            Writes the same segments and manifests as the continuous compactor (chatd --role compactor) and commits
            under its group, chat-compactor. Refuses to run while a compactor holds the snapshot directory.
            Progress goes to stderr, a summary to stdout. Exit codes: 0 done, 1 failure, 4 the cluster did not answer
            in time, 5 a snapshot is corrupt and the log no longer holds its range.
            """)

    @OptionGroup var options: HistoryCommandOptions

    func run() async throws {
        let kafka = try options.kafkaConfiguration()
        do {
            let admin = try KafkaAdmin(configuration: kafka, logger: quietLogger("chatctl.compact"))
            defer { Task { await admin.close() } }
            let epoch = try await options.connect(admin, brokers: kafka.bootstrapServers)
            var configuration = CompactorConfiguration(kafka: kafka, snapshotRoot: options.snapshotRoot)
            configuration.duplicateSpan = options.duplicateSpan
            var pass = CompactionPass(configuration: configuration, admin: admin, epoch: epoch, logger: quietLogger("chatctl.compact"))
            pass.idleTimeout = .seconds(Int64(max(options.timeout, 5)))
            let summary = try await pass.run { progress in
                let seconds = Double(progress.elapsed.components.seconds) + Double(progress.elapsed.components.attoseconds) / 1e18
                printError(
                    "compact: \(progress.records) records folded, \(progress.remaining) to go (\(Int(Double(progress.records) / max(seconds, 0.001))) records/s)"
                )
            }
            let seconds = Double(summary.elapsed.components.seconds) + Double(summary.elapsed.components.attoseconds) / 1e18
            let coverage = summary.coverage.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: " ")
            print(
                "compacted \(summary.records) records of \(summary.partitions) partitions in \(String(format: "%.2f", seconds))s into \(summary.directory.logDirectory)"
            )
            print("covered up to (partition:offset): \(coverage.isEmpty ? "nothing yet" : coverage)")
        } catch {
            let failure = CommandFailure.from(error)
            printError("chatctl compact: \(failure)")
            throw ExitCode(failure.exitCode)
        }
    }
}
