import Synchronization

/// Latency samples in nanoseconds, collected from many tasks.
final class LatencyRecorder: Sendable {
    private let samples = Mutex<[Int64]>([])

    init() { samples.withLock { $0.reserveCapacity(1 << 20) } }

    func record(_ nanoseconds: Int64) { samples.withLock { $0.append(nanoseconds) } }

    var count: Int { samples.withLock { $0.count } }

    func summary() -> LatencySummary { LatencySummary(samples.withLock { $0 }) }
}

/// Percentiles in milliseconds (exact: computed over every sample, sorted).
struct LatencySummary: Codable, Sendable {
    var count: Int
    var p50Ms: Double
    var p90Ms: Double
    var p99Ms: Double
    var p999Ms: Double
    var maxMs: Double

    init(_ samples: [Int64]) {
        let sorted = samples.sorted()
        count = sorted.count
        func at(_ quantile: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            let index = min(sorted.count - 1, Int((Double(sorted.count) * quantile).rounded(.up)) - 1)
            return (Double(sorted[max(0, index)]) / 10_000).rounded() / 100
        }
        p50Ms = at(0.5)
        p90Ms = at(0.9)
        p99Ms = at(0.99)
        p999Ms = at(0.999)
        maxMs = at(1)
    }

    var line: String { "n=\(count) p50 \(p50Ms) p90 \(p90Ms) p99 \(p99Ms) p99.9 \(p999Ms) max \(maxMs) ms" }
}

/// A counter shared by client tasks.
final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    func add(_ amount: Int = 1) { value.add(amount, ordering: .relaxed) }
    var current: Int { value.load(ordering: .relaxed) }
}

/// A value set by one task and read by many (the start of a measured interval).
final class Threshold: Sendable {
    private let stored: Atomic<Int64>
    init(_ initial: Int64) { stored = Atomic(initial) }
    func set(_ newValue: Int64) { stored.store(newValue, ordering: .relaxed) }
    var value: Int64 { stored.load(ordering: .relaxed) }
}
