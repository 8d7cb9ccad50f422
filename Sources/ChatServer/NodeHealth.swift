import ChatDomain
import ChatFanout
import Kafka

/// Answers `/readyz`: Kafka reachable and, on a node with a gateway, the fan-out caught up.
struct NodeHealth: Sendable {
    let admin: KafkaAdmin
    /// `nil` on a compactor-only node: it has no fan-out to lag.
    let fanout: Fanout?
    let lagLimit: Int64

    struct Report {
        var ready: Bool
        var json: String
    }

    func readiness() async -> Report {
        var writer = JSONWriter()
        let kafkaReachable = (try? await admin.partitionCount(topic: ChatTopics.rooms, timeout: .seconds(2))) != nil
        guard let fanout else {
            writer.add("ready", kafkaReachable)
            writer.add("kafka", kafkaReachable ? "reachable" : "unreachable")
            return Report(ready: kafkaReachable, json: writer.finish())
        }
        let lag = await fanout.totalLag()
        let ready = kafkaReachable && lag <= lagLimit
        writer.add("ready", ready)
        writer.add("kafka", kafkaReachable ? "reachable" : "unreachable")
        writer.add("fanoutLag", lag)
        writer.add("fanoutLagLimit", lagLimit)
        return Report(ready: ready, json: writer.finish())
    }
}
