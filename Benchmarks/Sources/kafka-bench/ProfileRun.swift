import ArgumentParser
import Foundation
import Kafka

/// One measurement alone, for running under a profiler (`perf record`, valgrind): the full run
/// mixes both sides and every path, which makes a profile impossible to attribute.
enum ProfilePhase: String, CaseIterable, ExpressibleByArgument, Sendable {
    case cProduce = "c-produce"
    case swiftBatch = "swift-batch"
    case swiftSingle = "swift-single"
    case cConsume = "c-consume"
    case swiftConsume = "swift-consume"
    case cLatency = "c-latency"
    case swiftLatency = "swift-latency"
}

struct ProfileRun: Sendable {
    let setup: BenchSetup
    let phase: ProfilePhase

    /// Runs `phase` for every round on one cluster and prints only progress.
    func run() async throws {
        let cluster = try await DedicatedThread.run("start-cluster") { [brokers = setup.brokers] in
            Result { try EmbeddedKafkaCluster(brokers: brokers) }
        }.get()
        defer { progress("profiled \(phase.rawValue)") }
        for round in 1...setup.rounds {
            let topic = "profile-\(round)"
            try cluster.createTopic(topic, partitions: setup.partitions, replicationFactor: setup.replicationFactor)
            let target = BenchTarget(bootstrapServers: cluster.bootstrapServers, topic: topic, partitions: setup.partitions)
            let c = CBaselineRunner(setup: setup)
            let swift = WrapperRunner(setup: setup)
            switch phase {
            case .cProduce: show(try await c.produce(target))
            case .swiftBatch: show(try await swift.produceBatches(target))
            case .swiftSingle: show(try await swift.produceSingles(target))
            case .cConsume, .swiftConsume:
                // The C producer fills the topic first; only the reader that follows is of interest.
                _ = try await c.produce(target)
                let expected = try await target.retainedRecordCount()
                show(phase == .cConsume ? try await c.consume(target, expected: expected) : try await swift.consume(target, expected: expected))
            case .cLatency: show(LatencySummary(latencies: try await c.latency(target)))
            case .swiftLatency: show(LatencySummary(latencies: try await swift.latency(target)))
            }
        }
        await cluster.shutdown()
    }

    private func show(_ sample: ThroughputSample) {
        progress(
            "\(phase.rawValue): \(sample.records) records, \(Int(sample.recordsPerSecond.rounded())) records/s, "
                + String(format: "%.2f", sample.cpuMicrosecondsPerRecord) + " µs CPU/record")
    }

    private func show(_ latency: LatencySummary) {
        progress("\(phase.rawValue): p50 \(latency.p50Ms) ms, p99 \(latency.p99Ms) ms, max \(latency.maxMs) ms")
    }
}
