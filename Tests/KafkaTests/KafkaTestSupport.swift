import Foundation
import Kafka
import Testing

/// Consumer settings for the embedded cluster, whose fetch handler waits the full `fetch.wait.max.ms`.
func consumerConfiguration(_ cluster: EmbeddedKafkaCluster, group: String? = nil) -> KafkaConfiguration {
    var configuration = KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, properties: ["fetch.wait.max.ms": "5"])
    if let group { configuration["group.id"] = group }
    return configuration
}

func withCluster<Result>(brokers: Int = 3, topic: String = "t", partitions: Int = 8, _ body: (EmbeddedKafkaCluster) async throws -> Result)
    async throws -> Result
{
    let cluster = try EmbeddedKafkaCluster(brokers: brokers)
    try cluster.createTopic(topic, partitions: partitions, replicationFactor: 3)
    do {
        let result = try await body(cluster)
        await cluster.shutdown()
        return result
    } catch {
        await cluster.shutdown()
        throw error
    }
}

func record(_ topic: String, _ partition: Int32, _ text: String) -> KafkaProducerRecord {
    KafkaProducerRecord(topic: topic, partition: partition, key: Array("k\(partition)".utf8), value: Array(text.utf8))
}

/// Reads records until `count` arrived or `timeout` passed.
func collect(_ consumer: KafkaConsumer, count: Int, timeout: Duration = .seconds(30)) async throws -> [KafkaRecord] {
    let received = RecordBox()
    let completed = try await withThrowingTaskGroup(of: Bool.self) { group in
        group.addTask {
            for try await record in consumer.records {
                let total = received.records.withLock {
                    $0.append(record)
                    return $0.count
                }
                if total == count { return true }
            }
            return false
        }
        group.addTask {
            try await Task.sleep(for: timeout)
            return false
        }
        let first = try await group.next()!
        group.cancelAll()
        return first
    }
    let result = received.records.withLock { $0 }
    if !completed { Issue.record("timed out waiting for \(count) records; got \(result.count)") }
    return result
}

final class RecordBox: Sendable {
    let records = Locked<[KafkaRecord]>([])
}

/// A value behind a pthread lock (`NSLock`): unlike `Mutex` on Linux, ThreadSanitizer sees it, so
/// the tests' own bookkeeping raises no reports under tools/test-tsan.sh.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) { self.value = value }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
