import CKafkaBaseline

/// One timed run: how many records made it and how long it took.
struct ThroughputSample: Sendable {
    var records: Int
    var failed: Int
    var nanoseconds: Int64
    /// CPU time of the whole process over the same interval.
    var cpuNanoseconds: Int64

    var recordsPerSecond: Double {
        nanoseconds > 0 ? Double(records) / (Double(nanoseconds) / 1e9) : 0
    }

    var cpuMicrosecondsPerRecord: Double {
        records > 0 ? Double(cpuNanoseconds) / 1000 / Double(records) : 0
    }
}

/// Throughput over the rounds. The median is the headline figure: on a shared 2-core machine
/// a single round can lose a whole time slice to a neighbour.
///
/// The CPU figures count every thread of the process, the embedded brokers included, while one
/// side runs: what a record costs the machine. Unlike records/s they hardly move when other work
/// shares the cores, and with both cores busy, throughput on an idle machine is about
/// 2 / CPU seconds per record.
struct ThroughputSummary: Codable, Sendable {
    var recordsPerSecondMedian: Double
    var recordsPerSecondPerRound: [Double]
    var cpuMicrosecondsPerRecordMedian: Double
    var cpuMicrosecondsPerRecordPerRound: [Double]
    var recordsPerRound: Int
    var failedTotal: Int

    init(_ samples: [ThroughputSample]) {
        let rates = samples.map(\.recordsPerSecond)
        recordsPerSecondMedian = median(rates).rounded()
        recordsPerSecondPerRound = rates.map { $0.rounded() }
        let costs = samples.map(\.cpuMicrosecondsPerRecord)
        cpuMicrosecondsPerRecordMedian = (median(costs) * 1000).rounded() / 1000
        cpuMicrosecondsPerRecordPerRound = costs.map { ($0 * 1000).rounded() / 1000 }
        recordsPerRound = samples.first?.records ?? 0
        failedTotal = samples.reduce(0) { $0 + $1.failed }
    }
}

/// Produce-to-consume latency of a paced stream: from just before the record is handed to the
/// producer to the moment the consumer's reader has it, both read on CLOCK_MONOTONIC.
struct LatencySummary: Codable, Sendable {
    var p50Ms: Double
    var p90Ms: Double
    var p99Ms: Double
    var maxMs: Double
    var meanMs: Double
    var received: Int
    var lost: Int

    /// `latencies` holds one entry per record sent, -1 for those that never arrived.
    init(latencies: [Int64]) {
        let arrived = latencies.filter { $0 >= 0 }.sorted()
        func milliseconds(_ nanoseconds: Int64) -> Double { (Double(nanoseconds) / 1e6 * 1000).rounded() / 1000 }
        func percentile(_ fraction: Double) -> Double {
            guard !arrived.isEmpty else { return 0 }
            // Nearest rank: the smallest sample with at least `fraction` of the samples at or below it.
            let rank = max(Int((fraction * Double(arrived.count)).rounded(.up)), 1)
            return milliseconds(arrived[rank - 1])
        }
        p50Ms = percentile(0.50)
        p90Ms = percentile(0.90)
        p99Ms = percentile(0.99)
        maxMs = milliseconds(arrived.last ?? 0)
        meanMs = arrived.isEmpty ? 0 : milliseconds(arrived.reduce(0, +) / Int64(arrived.count))
        received = arrived.count
        lost = latencies.count - arrived.count
    }
}

func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return 0 }
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/// The latency payload: sequence number and send stamp at the front, as the C side writes them.
enum LatencyPayload {
    static let warmUpSequence = UInt64.max

    static func make(size: Int, sequence: UInt64) -> [UInt8] {
        var payload = [UInt8](repeating: UInt8(ascii: "x"), count: max(size, 16))
        stamp(&payload, sequence: sequence, at: 0)
        return payload
    }

    /// Writes the header in place, so the clock is read after the array is allocated.
    static func stamp(_ payload: inout [UInt8], sequence: UInt64, at nanoseconds: Int64) {
        payload.withUnsafeMutableBytes { bytes in
            bytes.storeBytes(of: sequence, toByteOffset: 0, as: UInt64.self)
            bytes.storeBytes(of: nanoseconds, toByteOffset: 8, as: Int64.self)
        }
    }

    static func read(_ payload: [UInt8]) -> (sequence: UInt64, nanoseconds: Int64)? {
        guard payload.count >= 16 else { return nil }
        return payload.withUnsafeBytes { bytes in
            (bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self), bytes.loadUnaligned(fromByteOffset: 8, as: Int64.self))
        }
    }
}

/// The monotonic clock both sides stamp with.
func monotonicNanoseconds() -> Int64 { ckb_now_ns() }

/// CPU time of the whole process, read the same way on both sides.
func processCPUNanoseconds() -> Int64 { ckb_process_cpu_ns() }
