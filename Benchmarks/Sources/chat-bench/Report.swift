import Foundation

/// The JSON report: every scenario's figures, the baselines, and how the gateway compares.
struct ChatBenchReport: Codable, Sendable {
    struct Setup: Codable, Sendable {
        var rooms, members, rate: Int
        var seconds: Double
        var ingestClients, window: Int
        var ingestSeconds: Double
        var idleSessions, cores: Int
        var inProcess: Bool
    }

    /// Gateway relative to its baselines.
    struct Ratios: Codable, Sendable {
        /// Gateway e2e p99 / broadcast server e2e p99.
        var fanoutP99VersusWebSocket: Double?
        /// Gateway e2e p99 / librdkafka produce→consume p99.
        var fanoutP99VersusKafka: Double?
        /// Gateway acks/s / broadcast server acks/s.
        var ingestVersusWebSocket: Double?
    }

    /// Targets from issue 8.
    struct Targets: Codable, Sendable {
        var p99AtTwoThousandMet: Bool?
        var hundredThousandDeliveriesMet: Bool?
        var idleSessionCostMet: Bool?
    }

    var setup: Setup
    var fanout: FanoutScenario.Result?
    var ingest: IngestScenario.Result?
    var webSocketBaselineFanout: FanoutScenario.Result?
    var webSocketBaselineIngest: IngestScenario.Result?
    var kafkaBaselineLatency: LatencySummary?
    var connections: ConnectionsScenario.Result?
    var ratios = Ratios()
    var targets = Targets()
    /// The machine's 1-minute load average when the run started and ended: other work on the same
    /// cores moves every figure, the baselines' included.
    var loadAverage: LoadAverage?

    struct LoadAverage: Codable, Sendable {
        var start: Double
        var end: Double

        static func now() -> Double {
            guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8),
                let first = text.split(separator: " ").first, let value = Double(first)
            else { return -1 }
            return value
        }
    }

    init(setup: Setup) { self.setup = setup }

    mutating func computeRatios() {
        func ratio(_ a: Double?, _ b: Double?) -> Double? {
            guard let a, let b, b > 0 else { return nil }
            return (a / b * 100).rounded() / 100
        }
        ratios.fanoutP99VersusWebSocket = ratio(fanout?.endToEnd.p99Ms, webSocketBaselineFanout?.endToEnd.p99Ms)
        ratios.fanoutP99VersusKafka = ratio(fanout?.endToEnd.p99Ms, kafkaBaselineLatency?.p99Ms)
        ratios.ingestVersusWebSocket = ratio(ingest?.acksPerSecond, webSocketBaselineIngest?.acksPerSecond)
        if let fanout, setup.rate >= 2_000 {
            targets.p99AtTwoThousandMet = fanout.endToEnd.p99Ms <= 10 && fanout.deliveriesReceived >= fanout.deliveriesExpected
        }
        if let fanout { targets.hundredThousandDeliveriesMet = fanout.deliveriesPerSecond >= 100_000 }
        if let connections { targets.idleSessionCostMet = connections.sessionsOpen >= 50_000 && connections.rssPerSessionKB <= 16 }
    }

    func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self) + Data("\n".utf8)
    }

    func markdown() -> String {
        var lines = ["# chat-bench", "", "| measurement | figure |", "|---|---|"]
        if let fanout {
            lines.append("| fan-out \(setup.rate) msg/s × \(setup.members) members: e2e | \(fanout.endToEnd.line) |")
            lines.append("| fan-out deliveries/s | \(fanout.deliveriesPerSecond) (\(fanout.deliveriesReceived)/\(fanout.deliveriesExpected)) |")
            lines.append("| fan-out ack | \(fanout.ack.line) |")
        }
        if let base = webSocketBaselineFanout { lines.append("| broadcast baseline e2e | \(base.endToEnd.line) |") }
        if let kafka = kafkaBaselineLatency { lines.append("| librdkafka produce→consume | \(kafka.line) |") }
        if let ingest { lines.append("| ingest acks/s | \(ingest.acksPerSecond) (ack \(ingest.ack.line)) |") }
        if let base = webSocketBaselineIngest { lines.append("| broadcast baseline acks/s | \(base.acksPerSecond) |") }
        if let c = connections {
            lines.append(
                "| idle sessions | \(c.sessionsOpen)/\(c.sessionsRequested), \(c.rssPerSessionKB) KB RSS each, idle CPU \(c.idleCPUPercent)% |")
        }
        lines.append("")
        func show(_ value: Double?) -> String { value.map { "\($0)" } ?? "n/a" }
        lines.append(
            "Ratios: fan-out p99 / broadcast WebSocket p99 = \(show(ratios.fanoutP99VersusWebSocket)); "
                + "fan-out p99 / librdkafka p99 = \(show(ratios.fanoutP99VersusKafka)); "
                + "ingest / broadcast WebSocket = \(show(ratios.ingestVersusWebSocket)).")
        if let load = loadAverage { lines.append("Load average (1 min) at start / end: \(load.start) / \(load.end) on \(setup.cores) cores.") }
        return lines.joined(separator: "\n") + "\n"
    }
}
