import Metrics
import Synchronization

/// The compactor's metrics, created through its process's metrics factory.
final class CompactorMetrics: Sendable {
    let factory: any MetricsFactory
    let records: Counter
    let segments: Counter
    let failures: Counter
    private let coveredGauges = Mutex<[Int32: Gauge]>([:])

    init(factory: any MetricsFactory) {
        self.factory = factory
        self.records = Counter(label: "chat_compactor_records_total", dimensions: [], factory: factory)
        self.segments = Counter(label: "chat_compactor_manifest_updates_total", dimensions: [], factory: factory)
        self.failures = Counter(label: "chat_compactor_failures_total", dimensions: [], factory: factory)
    }

    /// The offset up to which a partition's manifest covers the log.
    func covered(partition: Int32) -> Gauge {
        coveredGauges.withLock { gauges in
            if let gauge = gauges[partition] { return gauge }
            let gauge = Gauge(label: "chat_compactor_covered_offset", dimensions: [("partition", "\(partition)")], factory: factory)
            gauges[partition] = gauge
            return gauge
        }
    }
}
