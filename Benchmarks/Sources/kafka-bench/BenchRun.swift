import Foundation
import Kafka

/// Runs every measurement in one process, each side against its own embedded cluster, and
/// alternates which side goes first each round so slow drift on the machine hits both alike.
struct BenchRun: Sendable {
    let setup: BenchSetup
    let measureConsume: Bool

    func run() async throws -> BenchReport {
        let loadAtStart = MachineLoad.oneMinuteLoadAverage()
        let c = CBaselineRunner(setup: setup)
        let swift = WrapperRunner(setup: setup)
        let cCluster = try await startCluster("C")
        let swiftCluster = try await startCluster("Swift")
        do {
            var cProduce: [ThroughputSample] = []
            var swiftBatch: [ThroughputSample] = []
            var swiftSingle: [ThroughputSample] = []
            var cConsume: [ThroughputSample] = []
            var swiftConsume: [ThroughputSample] = []
            for round in 1...setup.rounds {
                let cTarget = try target(cCluster, "produce-\(round)")
                let swiftTarget = try target(swiftCluster, "produce-\(round)")
                let singleTarget = try target(swiftCluster, "single-\(round)")
                let measureC = { cProduce.append(try await report("round \(round) C produce", c.produce(cTarget))) }
                let measureSwift = {
                    swiftBatch.append(try await report("round \(round) Swift send([...])", swift.produceBatches(swiftTarget)))
                    swiftSingle.append(try await report("round \(round) Swift send(_:)", swift.produceSingles(singleTarget)))
                }
                if round % 2 == 1 {
                    try await measureC()
                    try await measureSwift()
                } else {
                    try await measureSwift()
                    try await measureC()
                }
                guard measureConsume else { continue }
                let cExpected = try await cTarget.retainedRecordCount()
                let swiftExpected = try await swiftTarget.retainedRecordCount()
                cConsume.append(try await report("round \(round) C consume", c.consume(cTarget, expected: cExpected)))
                swiftConsume.append(try await report("round \(round) Swift consume", swift.consume(swiftTarget, expected: swiftExpected)))
            }

            // Both streams run at once so that whatever else the machine is doing hits both alike:
            // at 1,000 records/s each they leave most of the CPU idle, and the cores are shared symmetrically.
            progress("latency: \(setup.latencyRecordCount) records at \(setup.latencyRatePerSecond)/s through each side at once")
            let cLatencyTarget = try target(cCluster, "latency")
            let swiftLatencyTarget = try target(swiftCluster, "latency")
            async let cLatencies = c.latency(cLatencyTarget)
            async let swiftLatencies = swift.latency(swiftLatencyTarget)
            let cLatency = LatencySummary(latencies: try await cLatencies)
            let swiftLatency = LatencySummary(latencies: try await swiftLatencies)
            for (side, latency) in [("C", cLatency), ("Swift", swiftLatency)] {
                progress("\(side) latency: p50 \(latency.p50Ms) ms, p99 \(latency.p99Ms) ms, max \(latency.maxMs) ms, lost \(latency.lost)")
            }

            let cFigures = BaselineFigures(
                produce: ThroughputSummary(cProduce),
                consume: measureConsume ? ThroughputSummary(cConsume) : nil,
                latency: cLatency)
            let swiftFigures = WrapperFigures(
                produceBatch: ThroughputSummary(swiftBatch),
                produceSingle: ThroughputSummary(swiftSingle),
                consume: measureConsume ? ThroughputSummary(swiftConsume) : nil,
                latency: swiftLatency)
            await cCluster.shutdown()
            await swiftCluster.shutdown()
            let machine = MachineLoad(
                cores: ProcessInfo.processInfo.activeProcessorCount, loadAverageAtStart: loadAtStart,
                loadAverageAtEnd: MachineLoad.oneMinuteLoadAverage())
            progress(
                "1-minute load average: \(loadAtStart.map { "\($0)" } ?? "?") at start, \(machine.loadAverageAtEnd.map { "\($0)" } ?? "?") at end")
            return BenchReport(
                setup: setup, machine: machine, c: cFigures, swift: swiftFigures,
                ratio: Comparison(c: cFigures, swift: swiftFigures))
        } catch {
            await cCluster.shutdown()
            await swiftCluster.shutdown()
            throw error
        }
    }

    private func startCluster(_ side: String) async throws -> EmbeddedKafkaCluster {
        let brokers = setup.brokers
        // rd_kafka_mock_cluster_new starts broker threads; keep that off the cooperative pool.
        let cluster = try await DedicatedThread.run("start-cluster") { Result { try EmbeddedKafkaCluster(brokers: brokers) } }.get()
        progress("\(side) side: embedded cluster of \(brokers) brokers at \(cluster.bootstrapServers)")
        return cluster
    }

    private func target(_ cluster: EmbeddedKafkaCluster, _ topic: String) throws -> BenchTarget {
        try cluster.createTopic(topic, partitions: setup.partitions, replicationFactor: setup.replicationFactor)
        return BenchTarget(bootstrapServers: cluster.bootstrapServers, topic: topic, partitions: setup.partitions)
    }

    private func report(_ what: String, _ sample: ThroughputSample) -> ThroughputSample {
        let rate = Int(sample.recordsPerSecond.rounded())
        let seconds = Double(sample.nanoseconds) / 1e9
        progress(
            "\(what): \(sample.records) records in \(String(format: "%.3f", seconds)) s = \(rate) records/s, "
                + String(format: "%.2f", sample.cpuMicrosecondsPerRecord) + " µs CPU/record"
                + (sample.failed > 0 ? ", \(sample.failed) failed" : ""))
        return sample
    }
}
