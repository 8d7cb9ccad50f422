import ArgumentParser
import Dispatch
import Foundation

/// `chat-soak`: the reliability soak. Runs a Kafka cluster (`chatctl kafka`) and several `chatd`
/// gateways as child processes, drives users through them while killing gateways, taking brokers
/// down, pausing clients and dropping whole gateways' sessions at once, then audits that every
/// acked message reached every member of its room exactly once and in order, and that the
/// gateways' memory stayed flat.
@main
struct ChatSoak: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat-soak",
        abstract: "Reliability soak of the chat gateways: random faults under load, then an exactly-once, in-order delivery audit.",
        discussion: """
            Prints one line per check (PASS / FAIL / SKIP) on stdout, then `soak: N passed, M failed`; exits 0 only when \
            nothing failed. Progress and every injected fault go to stderr. The seed is printed; the same seed gives the \
            same memberships, senders and fault schedule (not the same timings). See docs/benchmarks.md.
            """)

    @Option(help: "Seconds of load and faults (the drain and the audit come after).") var duration: Double = 60
    @Option(help: "Seed of every random choice (default: random, printed).") var seed: UInt64?
    @Option(help: "Messages per second, all users together.") var rate: Double = 40
    @Option(help: "Users, one session each.") var users = 24
    @Option(help: "Rooms; every user is in 2 or 3 of them.") var rooms = 6
    @Option(help: "Gateway (chatd) processes.") var gateways = 2
    @Option(help: "Brokers of the embedded cluster.") var brokers = 3
    @Option(help: "Partitions of each chat topic.") var partitions = 8

    @Option(help: "Mean seconds between gateway SIGKILLs (0: none).") var killEvery: Double = 20
    @Option(help: "Mean seconds a killed gateway stays down before its restart.") var restartAfter: Double = 3
    @Option(help: "Mean seconds between broker outages (0: none).") var brokerEvery: Double = 25
    @Option(help: "Mean seconds a broker stays down.") var brokerDown: Double = 4
    @Option(help: "Mean seconds between partition leader moves (0: none).") var leaderEvery: Double = 30
    @Option(help: "Mean seconds between slow-client episodes (0: none).") var slowEvery: Double = 15
    @Option(help: "Longest pause of a slow client, in seconds (each pause is 3 s up to this).") var slowPause: Double = 14
    @Option(help: "Most sessions paused in one episode.") var slowSessions = 3
    @Option(help: "Mean seconds between reconnect storms (0: none).") var stormEvery: Double = 30
    @Flag(help: "Kill any gateway; by default gateway 1 is never killed, so one process lives through the soak for the memory check.")
    var killAnyGateway = false

    @Option(help: "chatd --ping-interval: a client that reads nothing for about twice this long is dropped.") var pingInterval = 5
    @Option(help: "fetch.wait.max.ms of the gateways' consumers (the mock brokers hold a fetch that long).") var fetchWaitMs = 10
    @Option(help: "Largest RSS growth of a gateway from mid-run to the end, in percent (see docs/benchmarks.md).") var rssTolerance: Double = 15
    @Option(help: "Most seconds the drain waits for the last acks and deliveries.") var drainTimeout: Double = 90
    @Option(help: "Seconds between progress lines on stderr.") var progressEvery: Double = 5
    @Option(help: "First gateway port; gateway i listens on port + i (default: random in 20000-28999).") var basePort: Int?

    @Option(help: "chatd binary (default: next to chat-soak).") var chatd: String?
    @Option(help: "chatctl binary (default: next to chat-soak).") var chatctl: String?
    @Option(help: "Directory for the processes' logs (default: a new one under the temporary directory).") var workDir: String?
    @Flag(help: "Keep the logs directory when every check passed (it is always kept otherwise).") var keepLogs = false
    @Option(help: "Write the figures as JSON here.") var output: String?

    func validate() throws {
        guard duration > 0, rate >= 0, users >= 2, rooms >= 1, gateways >= 1, brokers >= 1, partitions >= 1 else {
            throw ValidationError("--duration, --users (at least 2), --rooms, --gateways, --brokers and --partitions must be positive")
        }
        guard [killEvery, restartAfter, brokerEvery, brokerDown, leaderEvery, slowEvery, stormEvery].allSatisfy({ $0 >= 0 }), slowPause >= 1 else {
            throw ValidationError("fault intervals and durations must not be negative; --slow-pause at least 1")
        }
    }

    func run() async throws {
        let binDirectory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        let chatd = self.chatd ?? binDirectory.appendingPathComponent("chatd").path
        let chatctl = self.chatctl ?? binDirectory.appendingPathComponent("chatctl").path
        for binary in [chatd, chatctl] where !FileManager.default.isExecutableFile(atPath: binary) {
            throw ValidationError(
                "no executable \(binary): build it (swift build --product \(URL(fileURLWithPath: binary).lastPathComponent)) or pass its path")
        }
        let workDirectory =
            workDir
            ?? FileManager.default.temporaryDirectory
            .appendingPathComponent("chat-soak-\(ProcessInfo.processInfo.processIdentifier)-\(Int(Date().timeIntervalSince1970))").path
        try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
        guard let port = basePort ?? GatewayPorts.findFree(count: gateways) else {
            throw ValidationError("found no \(gateways) free consecutive ports in 20000-28999; pass --base-port")
        }
        let settings = SoakSettings(
            duration: duration, seed: seed ?? UInt64.random(in: 1...UInt64.max), rate: rate, users: users, rooms: rooms, gateways: gateways,
            brokers: brokers, partitions: partitions, killEvery: killEvery, restartAfter: restartAfter, brokerEvery: brokerEvery,
            brokerDown: brokerDown, leaderEvery: leaderEvery, slowEvery: slowEvery, slowPause: slowPause, slowSessions: slowSessions,
            stormEvery: stormEvery, killAnyGateway: killAnyGateway, pingInterval: pingInterval, fetchWaitMs: fetchWaitMs,
            rssTolerancePercent: rssTolerance, drainTimeout: drainTimeout, progressEvery: progressEvery, basePort: port, chatd: chatd,
            chatctl: chatctl, workDirectory: workDirectory)
        SignalCleanup.install()
        SoakOutput.progress("seed \(settings.seed) (rerun with --seed \(settings.seed)); logs in \(workDirectory)")

        let report = await SoakRun(settings: settings).run()

        for check in report.checks {
            for line in check.lines { SoakOutput.result(line) }
        }
        SoakOutput.result(
            "info: \(report.posted) messages posted, \(report.acked) acked (first attempt to ack p50 \(report.ackLatencyP50) s, "
                + "p99 \(report.ackLatencyP99) s, max \(report.ackLatencyMax) s), \(report.deliveries) deliveries, \(report.retries) retries, "
                + "\(report.connections) connections, seed \(settings.seed), \(report.wallSeconds) s in all (drain \(report.drainSeconds) s)")
        if !report.errors.isEmpty {
            SoakOutput.result(
                "info: error replies \(report.errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))")
        }
        SoakOutput.result(
            "info: connection ends by close code \(report.closeCodes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))"
        )
        if let output {
            try report.write(to: output)
            SoakOutput.progress("wrote \(output)")
        }
        if report.failed == 0, !keepLogs, workDir == nil {
            try? FileManager.default.removeItem(atPath: workDirectory)
        } else {
            SoakOutput.progress("logs kept in \(workDirectory)")
        }
        SoakOutput.result("soak: \(report.passed) passed, \(report.failed) failed")
        if report.failed > 0 { throw ExitCode(1) }
    }
}
