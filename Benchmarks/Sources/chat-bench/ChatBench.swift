import ArgumentParser
import Foundation

/// Benchmarks the chat gateway end to end over real WebSockets, beside two baselines in the same
/// run: a broadcast-only WebSocket server (the WebSocket path's limit) and librdkafka
/// produce-to-consume on the same embedded cluster (the log path's limit).
@main
struct ChatBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat-bench", abstract: "Benchmark the chat gateway: fan-out latency, ingest, idle connections, with baselines.")

    @Option(help: "ws://host:port/v1/ws of a running chatd started with --jwt-secret \(benchSecret); absent: in-process node.")
    var url: String?
    @Option(help: "Rooms of the fan-out scenario.") var rooms = 20
    @Option(help: "Members per room.") var members = 10
    @Option(help: "Messages per second, all senders together (one sender per room).") var rate = 2_000
    @Option(help: "Seconds of sending in the fan-out scenario.") var seconds = 10.0
    @Option(help: "Seconds of unmeasured sending at the same rate before the fan-out measurement.") var warmupSeconds = 2.0
    @Option(help: "Sessions of the ingest scenario.") var ingestClients = 8
    @Option(help: "Sends in flight per ingest session.") var window = 64
    @Option(help: "Seconds of the ingest scenario.") var ingestSeconds = 8.0
    @Option(help: "Rooms the ingest sessions spread over (default: one room per session).") var ingestRooms: Int?
    @Option(help: "WebSocket client of the ingest scenario: nio (bare NIO channels) or hummingbird.") var ingestClient: IngestScenario.IngestClient =
        .nio
    @Option(help: "Scenarios to run, comma-separated: fanout, ingest, connections.") var scenarios = "fanout,ingest,connections"
    @Option(help: "Only serve: start the in-process gateway, print its ws:// URL, run it this many seconds, stop (for --url from another process).")
    var serveSeconds: Double?
    @Option(help: "librdkafka property key=value for the in-process node's Kafka clients, repeatable (tuning experiments).")
    var kafkaProperty: [String] = []

    private var kafkaProperties: [String: String] {
        Dictionary(
            kafkaProperty.compactMap { pair in
                pair.firstIndex(of: "=").map { (String(pair[..<$0]), String(pair[pair.index(after: $0)...])) }
            }
        ) { _, last in last }
    }
    @Option(help: "Idle sessions of the connections scenario (0 skips it).") var idleSessions = 5_000
    @Option(help: "Server addresses 127.0.0.1… the idle sessions spread over.") var addresses = 8
    @Option(help: "chatd binary for the connections scenario; default: next to chat-bench.") var chatd: String?
    @Flag(help: "Skip the baselines.") var skipBaselines = false
    @Option(help: "Write the JSON report here (and a Markdown summary beside it, .md).") var output: String?

    func run() async throws {
        if let serveSeconds { return try await serve(seconds: serveSeconds) }
        let selected = Set(scenarios.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        let tokens = try await TokenSource()
        let tokenFunction: @Sendable (String) async throws -> String = { try await tokens.token($0) }
        let fanout = FanoutScenario(rooms: rooms, members: members, rate: rate, seconds: seconds, warmupSeconds: warmupSeconds)
        var report = ChatBenchReport(
            setup: .init(
                rooms: rooms, members: members, rate: rate, seconds: seconds, ingestClients: ingestClients, window: window,
                ingestSeconds: ingestSeconds, idleSessions: idleSessions, cores: ProcessInfo.processInfo.activeProcessorCount,
                inProcess: url == nil))
        let loadAtStart = ChatBenchReport.LoadAverage.now()
        var node: InProcessNode?
        let target: String
        if let url {
            target = url
        } else {
            let started = try await InProcessNode.start(kafkaProperties: kafkaProperties)
            node = started
            target = "ws://127.0.0.1:\(started.port)/v1/ws"
            progress("in-process gateway on port \(started.port), embedded cluster \(started.node.bootstrapServers)")
        }
        let ingest = IngestScenario(clients: ingestClients, window: window, seconds: ingestSeconds, rooms: ingestRooms, client: ingestClient)
        if selected.contains("fanout") { report.fanout = try await fanout.run(url: target, token: tokenFunction) }
        if selected.contains("ingest") { report.ingest = try await ingest.run(url: target, token: tokenFunction) }
        if !skipBaselines {
            let baseline = BroadcastBaseline()
            let (port, task) = try await baseline.start()
            progress("baseline: broadcast WebSocket server on port \(port)")
            if selected.contains("fanout") {
                report.webSocketBaselineFanout = try await fanout.run(url: "ws://127.0.0.1:\(port)/v1/ws", token: tokenFunction)
            }
            if selected.contains("ingest") {
                report.webSocketBaselineIngest = try await ingest.run(url: "ws://127.0.0.1:\(port)/v1/ws", token: tokenFunction)
            }
            task.cancel()
            if selected.contains("fanout"), let cluster = node?.node.embeddedCluster {
                report.kafkaBaselineLatency = try await KafkaBaseline.latency(cluster: cluster, rate: rate, seconds: min(seconds, 5))
                progress("baseline: librdkafka produce→consume \(report.kafkaBaselineLatency!.line)")
            }
        }
        await node?.stop()
        if idleSessions > 0, selected.contains("connections") {
            let binary = chatd ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("chatd").path
            if FileManager.default.isExecutableFile(atPath: binary) {
                report.connections = try await ConnectionsScenario(sessions: idleSessions, addresses: addresses, chatd: binary, idleSeconds: 5)
                    .run(token: tokens)
            } else {
                progress("connections: skipped, no chatd at \(binary) (build it or pass --chatd)")
            }
        }
        report.loadAverage = .init(start: loadAtStart, end: ChatBenchReport.LoadAverage.now())
        report.computeRatios()
        let json = try report.json()
        FileHandle.standardOutput.write(json)
        if let output {
            let url = URL(fileURLWithPath: output)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try json.write(to: url)
            try Data(report.markdown().utf8).write(to: url.deletingPathExtension().appendingPathExtension("md"))
            progress("wrote \(output)")
        }
    }

    /// The in-process gateway alone, so a client in another process (`--url`) can be measured
    /// apart from it: this process's CPU is the gateway's and its cluster's.
    private func serve(seconds: Double) async throws {
        let node = try await InProcessNode.start(kafkaProperties: kafkaProperties)
        let cpuAtStart = processCPUSeconds()
        let start = ContinuousClock.now
        FileHandle.standardOutput.write(Data("ws://127.0.0.1:\(node.port)/v1/ws\n".utf8))
        progress("serving on port \(node.port) for \(seconds) s")
        try await Task.sleep(for: .seconds(seconds))
        let elapsed = (ContinuousClock.now - start) / .seconds(1)
        progress("served \(elapsed) s, process CPU \(((processCPUSeconds() - cpuAtStart) / elapsed * 100).rounded() / 100) cores on average")
        await node.stop()
    }
}

extension IngestScenario.IngestClient: ExpressibleByArgument {}
