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
    @Option(help: "Idle sessions of the connections scenario (0 skips it).") var idleSessions = 5_000
    @Option(help: "Server addresses 127.0.0.1… the idle sessions spread over.") var addresses = 8
    @Option(help: "chatd binary for the connections scenario; default: next to chat-bench.") var chatd: String?
    @Flag(help: "Skip the baselines.") var skipBaselines = false
    @Option(help: "Write the JSON report here (and a Markdown summary beside it, .md).") var output: String?

    func run() async throws {
        let tokens = try await TokenSource()
        let tokenFunction: @Sendable (String) async throws -> String = { try await tokens.token($0) }
        let fanout = FanoutScenario(rooms: rooms, members: members, rate: rate, seconds: seconds, warmupSeconds: warmupSeconds)
        var report = ChatBenchReport(
            setup: .init(rooms: rooms, members: members, rate: rate, seconds: seconds, ingestClients: ingestClients, window: window,
                         ingestSeconds: ingestSeconds, idleSessions: idleSessions, cores: ProcessInfo.processInfo.activeProcessorCount,
                         inProcess: url == nil))
        let loadAtStart = ChatBenchReport.LoadAverage.now()
        var node: InProcessNode?
        let target: String
        if let url {
            target = url
        } else {
            let started = try await InProcessNode.start()
            node = started
            target = "ws://127.0.0.1:\(started.port)/v1/ws"
            progress("in-process gateway on port \(started.port), embedded cluster \(started.node.bootstrapServers)")
        }
        report.fanout = try await fanout.run(url: target, token: tokenFunction)
        report.ingest = try await IngestScenario(clients: ingestClients, window: window, seconds: ingestSeconds).run(url: target, token: tokenFunction)
        if !skipBaselines {
            let baseline = BroadcastBaseline()
            let (port, task) = try await baseline.start()
            progress("baseline: broadcast WebSocket server on port \(port)")
            report.webSocketBaselineFanout = try await fanout.run(url: "ws://127.0.0.1:\(port)/v1/ws", token: tokenFunction)
            report.webSocketBaselineIngest = try await IngestScenario(clients: ingestClients, window: window, seconds: ingestSeconds)
                .run(url: "ws://127.0.0.1:\(port)/v1/ws", token: tokenFunction)
            task.cancel()
            if let cluster = node?.node.embeddedCluster {
                report.kafkaBaselineLatency = try await KafkaBaseline.latency(cluster: cluster, rate: rate, seconds: min(seconds, 5))
                progress("baseline: librdkafka produce→consume \(report.kafkaBaselineLatency!.line)")
            }
        }
        await node?.stop()
        if idleSessions > 0 {
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
}

