import CKafkaBaseline
import Foundation
import Kafka

/// The log path's limit: librdkafka produce-to-consume latency on the same embedded cluster, at
/// the fan-out scenario's message rate, through kafka-bench's C baseline.
enum KafkaBaseline {
    static func latency(cluster: EmbeddedKafkaCluster, rate: Int, seconds: Double) async throws -> LatencySummary {
        let topic = "chat-bench.baseline"
        try cluster.createTopic(topic, partitions: 8, replicationFactor: 3)
        let producer = KafkaProducer.defaultProperties
        let consumer = KafkaConsumer.defaultProperties.merging(["fetch.wait.max.ms": "1", "group.id": "chat-bench"]) { _, new in new }
        let bootstrap = cluster.bootstrapServers
        let count = Int(Double(rate) * seconds)
        let latencies: [Int64] = await withCheckedContinuation { continuation in
            let thread = Thread {
                var allocated: [UnsafeMutablePointer<CChar>] = []
                func duplicate(_ text: String) -> UnsafePointer<CChar> {
                    let copy = strdup(text)!
                    allocated.append(copy)
                    return UnsafePointer(copy)
                }
                func flatten(_ properties: [String: String]) -> [UnsafePointer<CChar>?] {
                    properties.sorted { $0.key < $1.key }.flatMap { [duplicate($0.key), duplicate($0.value)] } + [nil]
                }
                let producerList = flatten(producer)
                let consumerList = flatten(consumer)
                var latencies = [Int64](repeating: -1, count: count)
                producerList.withUnsafeBufferPointer { producerPointer in
                    consumerList.withUnsafeBufferPointer { consumerPointer in
                        var target = ckb_target(
                            bootstrap_servers: duplicate(bootstrap), topic: duplicate(topic), partitions: 8,
                            producer_properties: producerPointer.baseAddress, consumer_properties: consumerPointer.baseAddress)
                        var result = ckb_result()
                        latencies.withUnsafeMutableBufferPointer { buffer in
                            _ = ckb_produce_consume_latency(
                                &target, Int32(rate), Int32(seconds * 1000), 100, buffer.baseAddress, Int64(buffer.count), &result)
                        }
                    }
                }
                allocated.forEach { free($0) }
                continuation.resume(returning: latencies)
            }
            thread.name = "c-latency"
            thread.start()
        }
        return LatencySummary(latencies.filter { $0 >= 0 })
    }
}
