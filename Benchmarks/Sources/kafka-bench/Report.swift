import Foundation

/// The JSON printed on stdout: both sides' figures and how the wrapper compares.
struct BenchReport: Codable, Sendable {
    var setup: BenchSetup
    var machine: MachineLoad
    var c: BaselineFigures
    var swift: WrapperFigures
    var ratio: Comparison
}

struct BaselineFigures: Codable, Sendable {
    var produce: ThroughputSummary
    var consume: ThroughputSummary?
    var latency: LatencySummary
}

struct WrapperFigures: Codable, Sendable {
    /// `send([...])` in chunks: the path to compare with C.
    var produceBatch: ThroughputSummary
    /// `send(_:)` from many tasks, each awaiting its acknowledgement: the per-message path.
    var produceSingle: ThroughputSummary
    var consume: ThroughputSummary?
    var latency: LatencySummary
}

/// Swift relative to C, and whether the wrapper meets its targets.
struct Comparison: Codable, Sendable {
    static let throughputTarget = 0.8
    static let addedP99TargetMilliseconds = 1.0

    /// Swift batch send / C records per second (medians over the rounds).
    var produceBatchThroughput: Double
    /// The same ratio round by round (each round runs both sides back to back), to show the spread.
    var produceBatchThroughputPerRound: [Double]
    /// Swift single-record send / C records per second.
    var produceSingleThroughput: Double
    var consumeThroughput: Double?
    /// C CPU per record / Swift CPU per record (medians): the throughput ratio to expect on an
    /// idle machine, where both sides are CPU-bound; little affected by other load.
    var produceBatchCPUEfficiency: Double
    var produceSingleCPUEfficiency: Double
    var consumeCPUEfficiency: Double?
    /// Swift minus C, in milliseconds.
    var p50LatencyAddedMs: Double
    var p99LatencyAddedMs: Double
    var maxLatencyAddedMs: Double
    var throughputTarget: Double
    var addedP99TargetMs: Double
    var throughputTargetMet: Bool
    var latencyTargetMet: Bool

    init(c: BaselineFigures, swift: WrapperFigures) {
        func ratio(_ swift: ThroughputSummary?, _ c: ThroughputSummary?) -> Double? {
            guard let swift, let c, c.recordsPerSecondMedian > 0 else { return nil }
            return (swift.recordsPerSecondMedian / c.recordsPerSecondMedian * 1000).rounded() / 1000
        }
        func difference(_ swift: Double, _ c: Double) -> Double { ((swift - c) * 1000).rounded() / 1000 }
        produceBatchThroughput = ratio(swift.produceBatch, c.produce) ?? 0
        produceBatchThroughputPerRound = zip(swift.produceBatch.recordsPerSecondPerRound, c.produce.recordsPerSecondPerRound).map {
            $1 > 0 ? ($0 / $1 * 1000).rounded() / 1000 : 0
        }
        produceSingleThroughput = ratio(swift.produceSingle, c.produce) ?? 0
        consumeThroughput = ratio(swift.consume, c.consume)
        func efficiency(_ swift: ThroughputSummary?, _ c: ThroughputSummary?) -> Double? {
            guard let swift, let c, swift.cpuMicrosecondsPerRecordMedian > 0 else { return nil }
            return (c.cpuMicrosecondsPerRecordMedian / swift.cpuMicrosecondsPerRecordMedian * 1000).rounded() / 1000
        }
        produceBatchCPUEfficiency = efficiency(swift.produceBatch, c.produce) ?? 0
        produceSingleCPUEfficiency = efficiency(swift.produceSingle, c.produce) ?? 0
        consumeCPUEfficiency = efficiency(swift.consume, c.consume)
        p50LatencyAddedMs = difference(swift.latency.p50Ms, c.latency.p50Ms)
        p99LatencyAddedMs = difference(swift.latency.p99Ms, c.latency.p99Ms)
        maxLatencyAddedMs = difference(swift.latency.maxMs, c.latency.maxMs)
        throughputTarget = Self.throughputTarget
        addedP99TargetMs = Self.addedP99TargetMilliseconds
        throughputTargetMet = produceBatchThroughput >= Self.throughputTarget
        latencyTargetMet = p99LatencyAddedMs < Self.addedP99TargetMilliseconds
    }
}

extension BenchReport {
    func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try encoder.encode(self) + Data("\n".utf8)
    }
}

/// How busy the machine was: other work on the same cores moves every figure, so a report
/// records the 1-minute load average around the run to judge it by.
struct MachineLoad: Codable, Sendable {
    var cores: Int
    var loadAverageAtStart: Double?
    var loadAverageAtEnd: Double?

    static func oneMinuteLoadAverage() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return nil }
        return text.split(separator: " ").first.flatMap { Double($0) }
    }
}
