import ArgumentParser
import ChatLag
import Foundation
import Kafka
import Logging

/// `chatctl lag`: consumer lag in messages and time, with a status per partition and group.
struct LagCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lag",
        abstract: "Show the consumer lag of the chat system's consumer groups, or export it to Prometheus.",
        discussion: """
            Samples the committed offsets of each group and the log offsets of the chat topics several times and judges \
            each partition on the recent samples: OK, WARN (lag keeps growing), STALL (no progress on a backlog that is \
            not growing), STOP (no progress while the lag grows), ERR (offsets unreadable or outside the log). A group is \
            ERR when any partition is STALL, STOP or ERR. docs/operations.md explains each status and what to do.

            Without --group, the groups are discovered: listed by the brokers where they can, otherwise from the \
            gateways' heartbeats on chat.presence; chat-compactor is always included.

            Exit status: 0 when the cluster could be read (whatever the statuses), 2 when it could not.
            """)

    @OptionGroup var kafka: KafkaOptions

    @Option(name: .customLong("group"), help: "A consumer group to show, repeatable. Default: every chat group found.")
    var groups: [String] = []

    @Flag(help: "Keep sampling and redraw the view every --interval until interrupted.")
    var watch = false

    @Option(help: "Output: table or json.")
    var format: OutputFormat = .table

    @Option(help: "Serve Prometheus metrics on HOST:PORT (GET /metrics) and keep sampling until SIGTERM.")
    var serve: String?

    @Option(help: "Seconds between samples [default 2, with --watch or --serve 5].")
    var interval: Double?

    @Option(help: "Samples taken before a one-shot report.")
    var samples: Int = 5

    @Option(help: "Most recent samples each status is judged on.")
    var window: Int = 12

    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case table, json
    }

    func validate() throws {
        guard samples >= 1 else { throw ValidationError("--samples must be at least 1") }
        guard window >= 3 else { throw ValidationError("--window must be at least 3") }
        if let interval, interval <= 0 { throw ValidationError("--interval must be positive") }
        if let serve { _ = try ServeAddress(serve) }
        if serve != nil && watch { throw ValidationError("--serve and --watch are exclusive") }
    }

    func run() async throws {
        let logger = kafka.logger("chatctl.lag")
        let configuration = try kafka.configuration()
        let admin = try KafkaAdmin(configuration: configuration, logger: logger)
        let timestamps = RecordTimestampReader(configuration: configuration, logger: logger)
        let monitor = LagMonitor(
            sampler: LagSampler(admin: admin, timestamps: timestamps, timeout: kafka.timeoutDuration),
            discovery: ConsumerGroupDiscovery(admin: admin, configuration: configuration, timeout: kafka.timeoutDuration, logger: logger),
            groups: groups, rules: LagRules(windowSize: window, minimumSamples: min(3, window)), logger: logger)
        // A one-shot window (samples x interval, 8 s by default) must outlast the slowest regular
        // commit interval: the compactor commits each segment, at most 5 s apart under load.
        let pause = Duration.milliseconds(Int64((interval ?? (watch || serve != nil ? 5 : 2)) * 1000))
        do {
            if let serve {
                try await LagExporter(monitor: monitor, address: try ServeAddress(serve), interval: pause, logger: logger).run()
            } else if watch {
                while true {
                    let report = await monitor.sample()
                    let source = await monitor.groupSource
                    writeLine("\u{1B}[H\u{1B}[2J" + render(report) + (format == .table ? "groups: \(source)\n" : ""))
                    try await Task.sleep(for: pause)
                }
            } else {
                try await oneShot(monitor, pause: pause)
            }
        } catch {
            await admin.close()
            throw error
        }
        await admin.close()
    }

    private func oneShot(_ monitor: LagMonitor, pause: Duration) async throws {
        var report = await monitor.sample()
        if let error = report.error {
            writeError("error: cannot read the Kafka cluster: \(error)")
            writeError("Check --brokers (and --kafka-property for TLS / SASL), and that the brokers are up.")
            throw ExitCode(2)
        }
        writeError("groups: \(await monitor.groupSource)")
        for index in 1..<samples {
            writeError("sampling \(index + 1)/\(samples)...")
            try await Task.sleep(for: pause)
            report = await monitor.sample()
        }
        FileHandle.standardOutput.write(Data(render(report).utf8))
        if let error = report.error {
            writeError("error: the last sample could not read the cluster: \(error)")
            throw ExitCode(2)
        }
    }

    private func render(_ report: LagReport) -> String {
        switch format {
        case .table:
            return LagTableRenderer.render(report)
        case .json:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            return (try? encoder.encode(report)).map { String(decoding: $0, as: UTF8.self) + "\n" } ?? "{}\n"
        }
    }
}

/// `HOST:PORT` of `--serve`.
struct ServeAddress {
    var host: String
    var port: Int

    init(_ text: String) throws {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw ValidationError("--serve takes HOST:PORT, e.g. 0.0.0.0:9308; got \(text)")
        }
        let host = String(text[..<colon])
        self.host = host.isEmpty ? "0.0.0.0" : host.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        self.port = port
    }
}
