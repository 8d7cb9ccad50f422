/// Samples the resident memory (VmRSS) of every gateway process and of the Kafka process over the
/// soak, and keeps two marks per gateway incarnation: mid-run and end (after the drain).
///
/// The memory check compares, for each gateway whose process lived through the whole second half
/// (same incarnation at both marks), its RSS at the end with its RSS at mid-run: the first half
/// is warm-up (caches and duplicate windows filling, allocator arenas growing), the second half
/// must not keep growing.
actor MemoryMonitor {
    /// One sample of one process.
    struct Sample: Sendable, Codable {
        var atSeconds: Double
        var process: String
        var incarnation: Int
        var kib: Int
    }

    /// RSS of one gateway incarnation at a mark.
    struct Mark: Sendable, Codable {
        var gateway: Int
        var incarnation: Int
        var pid: Int32
        var kib: Int
    }

    private let gateways: GatewayPool
    private let kafka: ManagedProcess
    private let started: ContinuousClock.Instant
    private(set) var samples: [Sample] = []
    private(set) var mid: [Mark] = []
    private(set) var end: [Mark] = []

    init(gateways: GatewayPool, kafka: ManagedProcess, started: ContinuousClock.Instant) {
        self.gateways = gateways
        self.kafka = kafka
        self.started = started
    }

    /// Samples every `interval` until cancelled.
    func run(every interval: Duration) async {
        while !Task.isCancelled {
            _ = await sample()
            try? await Task.sleep(for: interval)
        }
    }

    @discardableResult
    func sample() async -> [Mark] {
        let at = (ContinuousClock.now - started) / .seconds(1)
        var marks: [Mark] = []
        for (index, incarnation, process) in await gateways.processes() {
            guard let kib = process.residentKiB else { continue }
            samples.append(Sample(atSeconds: (at * 10).rounded() / 10, process: "gw\(index + 1)", incarnation: incarnation, kib: kib))
            marks.append(Mark(gateway: index, incarnation: incarnation, pid: process.pid, kib: kib))
        }
        if let kib = kafka.residentKiB {
            samples.append(Sample(atSeconds: (at * 10).rounded() / 10, process: "kafka", incarnation: 1, kib: kib))
        }
        return marks
    }

    func markMid() async { mid = await sample() }
    func markEnd() async { end = await sample() }

    /// Highest sample of a gateway incarnation.
    func peak(gateway: Int, incarnation: Int) -> Int? {
        samples.filter { $0.process == "gw\(gateway + 1)" && $0.incarnation == incarnation }.map(\.kib).max()
    }

    /// The Kafka process's RSS at the first and last sample.
    func kafkaRange() -> (first: Int, last: Int)? {
        let kafka = samples.filter { $0.process == "kafka" }
        guard let first = kafka.first, let last = kafka.last else { return nil }
        return (first.kib, last.kib)
    }
}
