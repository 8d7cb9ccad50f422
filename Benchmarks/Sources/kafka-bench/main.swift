import ArgumentParser
import Foundation
import Kafka

/// Compares the Swift Kafka wrapper with librdkafka used directly from C, in one process, each
/// side on a fresh embedded cluster. Prints JSON on stdout and progress on stderr.
struct KafkaBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kafka-bench",
        abstract: "Benchmark the Kafka wrapper against librdkafka used from C on the embedded cluster.")

    @Option(help: "Records per produce round (and read back per consume round).")
    var messages = 200_000

    @Option(help: "Rounds of the throughput measurements; the median is reported.")
    var rounds = 5

    @Option(help: "Bytes per record value.")
    var payloadBytes = 100

    @Option(help: "Seconds of the paced produce-to-consume stream, per side.")
    var latencySeconds = 5.0

    @Option(help: "Records per second of the paced stream.")
    var latencyRate = 1_000

    @Option(help: "Records per send([...]) call.")
    var batchSize = 10_000

    @Option(help: "send([...]) calls outstanding at a time.")
    var batchesInFlight = 4

    @Option(help: "Concurrent tasks calling send(_:) in the single-record measurement.")
    var singleSendTasks = 1_000

    @Flag(help: "Skip the consume throughput measurement.")
    var skipConsume = false

    @Option(help: "Also write the JSON report to this file.")
    var output: String?

    @Option(help: ArgumentHelp("Run only this measurement, for a profiler; prints no report.", visibility: .hidden))
    var profile: ProfilePhase?

    func validate() throws {
        guard messages > 0, rounds > 0, batchSize > 0, batchesInFlight > 0, singleSendTasks > 0, latencyRate > 0 else {
            throw ValidationError("counts and rates must be positive")
        }
        guard payloadBytes >= 16 else { throw ValidationError("--payload-bytes must be at least 16 (sequence and stamp)") }
        guard latencySeconds > 0, latencyRate <= 100_000 else { throw ValidationError("latency stream out of range") }
    }

    func run() async throws {
        let setup = BenchSetup(
            messages: messages, payloadBytes: payloadBytes, brokers: 3, partitions: 8, replicationFactor: 3,
            rounds: rounds, batchSize: batchSize, batchesInFlight: batchesInFlight, singleSendTasks: singleSendTasks,
            latencyRatePerSecond: latencyRate, latencySeconds: latencySeconds,
            producerProperties: BenchSetup.producerProperties, consumerProperties: BenchSetup.consumerProperties,
            librdkafkaVersion: BenchSetup.librdkafkaVersionString)
        progress("librdkafka \(setup.librdkafkaVersion), \(messages) records of \(payloadBytes) bytes, \(rounds) rounds")
        if let profile {
            return try await ProfileRun(setup: setup, phase: profile).run()
        }
        let report = try await BenchRun(setup: setup, measureConsume: !skipConsume).run()
        let json = try report.json()
        FileHandle.standardOutput.write(json)
        if let output {
            let url = URL(fileURLWithPath: output)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try json.write(to: url)
            progress("wrote \(output)")
        }
        let ratio = report.ratio
        progress(
            "swift/c produce throughput \(ratio.produceBatchThroughput) (target \(Comparison.throughputTarget)): "
                + (ratio.throughputTargetMet ? "met" : "MISSED"))
        progress(
            "p99 latency added \(ratio.p99LatencyAddedMs) ms (target < \(Comparison.addedP99TargetMilliseconds)): "
                + (ratio.latencyTargetMet ? "met" : "MISSED"))
    }
}

/// The command runs in a task while the main thread waits on a semaphore. An `await` at top level
/// would make this an async main, which parks the main thread in `dispatch_main`; valgrind 3.19
/// (callgrind, for instruction counts) crashes on that, so the entry point stays synchronous.
/// Inside an async context `main()` picks `AsyncParsableCommand`'s async entry point.
func runAsyncCommand<Command: AsyncParsableCommand>(_: Command.Type) async {
    await Command.main()
}

let finished = DispatchSemaphore(value: 0)
Task.detached { [finished] in
    await runAsyncCommand(KafkaBench.self)
    finished.signal()
}
finished.wait()
