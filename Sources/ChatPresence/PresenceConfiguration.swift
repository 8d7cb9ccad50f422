import Kafka

/// Settings of a node's presence service.
public struct PresenceConfiguration: Sendable {
    public var nodeID: String
    /// Consumer settings for reading `chat.presence` and `chat.cursors` from the beginning.
    public var kafka: KafkaConfiguration
    public var heartbeatInterval: Duration = .seconds(5)
    /// A node silent for this long has all its users marked offline everywhere.
    public var staleAfter: Duration = .seconds(30)

    public init(nodeID: String, kafka: KafkaConfiguration) {
        self.nodeID = nodeID
        self.kafka = kafka
    }
}

/// Milliseconds on this process's monotonic clock.
func monotonicMilliseconds() -> Int64 {
    let now = ContinuousClock.now
    let elapsed = processStart.duration(to: now).components
    return elapsed.seconds * 1000 + elapsed.attoseconds / 1_000_000_000_000_000
}

private let processStart = ContinuousClock.now
