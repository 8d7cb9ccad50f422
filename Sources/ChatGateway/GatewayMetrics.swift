import Kafka
import Metrics
import Synchronization

/// The gateway's metrics (Prometheus names), created through the node's own factory so that
/// several nodes can live in one process (tests) without a global metrics system.
public final class GatewayMetrics: Sendable {
    let sessions: Gauge
    let framesIn: Counter
    let framesOut: Counter
    let messagesIn: Counter
    let produceLatency: Timer
    let sessionsClosedSlow: Counter
    let rateLimited: Counter
    /// Records the shared history reader handed to history pages and edit/delete lookups.
    let historyRecordsScanned: Counter
    /// Consumers the shared history reader created (one while Kafka stays healthy).
    let historyReaderConsumers: Counter
    private let sessionCount = Atomic<Int>(0)

    public init(factory: any MetricsFactory) {
        sessions = Gauge(label: "chat_sessions", dimensions: [], factory: factory)
        framesIn = Counter(label: "chat_frames_in_total", dimensions: [], factory: factory)
        framesOut = Counter(label: "chat_frames_out_total", dimensions: [], factory: factory)
        messagesIn = Counter(label: "chat_messages_in_total", dimensions: [], factory: factory)
        produceLatency = Timer(label: "chat_produce_latency_seconds", dimensions: [], preferredDisplayUnit: .seconds, factory: factory)
        sessionsClosedSlow = Counter(label: "chat_sessions_closed_slow_total", dimensions: [], factory: factory)
        rateLimited = Counter(label: "chat_rate_limited_total", dimensions: [], factory: factory)
        historyRecordsScanned = Counter(label: "chat_history_records_scanned_total", dimensions: [], factory: factory)
        historyReaderConsumers = Counter(label: "chat_history_reader_consumers_total", dimensions: [], factory: factory)
        sessions.record(0)
    }

    /// What the node's shared history reader reports into these metrics.
    public var historyReaderObservers: KafkaPartitionReader.Observers {
        let scanned = historyRecordsScanned
        let consumers = historyReaderConsumers
        return .init(recordsRead: { scanned.increment(by: Int64($0)) }, consumerCreated: { consumers.increment() })
    }

    func sessionOpened() {
        sessions.record(sessionCount.add(1, ordering: .relaxed).newValue)
    }

    func sessionClosed() {
        sessions.record(sessionCount.subtract(1, ordering: .relaxed).newValue)
    }
}
