import Metrics
import Synchronization

/// The fan-out's metrics, created through the node's own metrics factory.
final class FanoutMetrics: Sendable {
    let factory: any MetricsFactory
    let messagesOut: Counter
    let catchUps: Counter
    private let lagGauges = Mutex<[Int32: Gauge]>([:])

    init(factory: any MetricsFactory) {
        self.factory = factory
        self.messagesOut = Counter(label: "chat_messages_out_total", dimensions: [], factory: factory)
        self.catchUps = Counter(label: "chat_fanout_log_catch_ups_total", dimensions: [], factory: factory)
    }

    func lag(partition: Int32) -> Gauge {
        lagGauges.withLock { gauges in
            if let gauge = gauges[partition] { return gauge }
            let gauge = Gauge(label: "chat_fanout_lag_messages", dimensions: [("partition", "\(partition)")], factory: factory)
            gauges[partition] = gauge
            return gauge
        }
    }
}
