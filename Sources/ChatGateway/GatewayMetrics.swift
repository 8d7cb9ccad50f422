import Metrics
import Synchronization

/// The gateway's metrics (Prometheus names), created through the node's own factory so that
/// several nodes can live in one process (tests) without a global metrics system.
final class GatewayMetrics: Sendable {
    let sessions: Gauge
    let framesIn: Counter
    let framesOut: Counter
    let messagesIn: Counter
    let produceLatency: Timer
    let sessionsClosedSlow: Counter
    let rateLimited: Counter
    private let sessionCount = Atomic<Int>(0)

    init(factory: any MetricsFactory) {
        sessions = Gauge(label: "chat_sessions", dimensions: [], factory: factory)
        framesIn = Counter(label: "chat_frames_in_total", dimensions: [], factory: factory)
        framesOut = Counter(label: "chat_frames_out_total", dimensions: [], factory: factory)
        messagesIn = Counter(label: "chat_messages_in_total", dimensions: [], factory: factory)
        produceLatency = Timer(label: "chat_produce_latency_seconds", dimensions: [], preferredDisplayUnit: .seconds, factory: factory)
        sessionsClosedSlow = Counter(label: "chat_sessions_closed_slow_total", dimensions: [], factory: factory)
        rateLimited = Counter(label: "chat_rate_limited_total", dimensions: [], factory: factory)
        sessions.record(0)
    }

    func sessionOpened() {
        sessions.record(sessionCount.add(1, ordering: .relaxed).newValue)
    }

    func sessionClosed() {
        sessions.record(sessionCount.subtract(1, ordering: .relaxed).newValue)
    }
}
