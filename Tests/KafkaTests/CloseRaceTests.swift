import Kafka
import Testing

/// Clients closed while other tasks use them, many times over. Each call must be answered (done or
/// `closed`) and nothing may touch a client after it is gone; run under ThreadSanitizer
/// (tools/test-tsan.sh), these also show that no task reaches a queue or handle the poll thread
/// destroys (the consumer used to wake its poll thread through a queue it destroyed unlocked).
@Suite("Close races")
struct CloseRaceTests {
    @Test("A consumer closed while records are read and commands, commits and watermark reads run answers each call", .timeLimit(.minutes(3)))
    func consumerCloseWhileInUse() async throws {
        try await withCluster(partitions: 2) { cluster in
            let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers))
            _ = try await producer.send((0..<2000).map { record("t", Int32($0 % 2), "\($0)") }).get()
            await producer.close()
            let partitions = (0..<2).map { KafkaTopicPartition(topic: "t", partition: Int32($0), offset: .beginning) }
            for round in 0..<8 {
                let consumer = try KafkaConsumer(configuration: consumerConfiguration(cluster, group: "race-\(round)"), bufferCapacity: 100)
                try await consumer.assign(partitions)
                let unexpected = RaceLog()
                await withTaskGroup(of: Void.self) { group in
                    group.addTask {
                        do {
                            for try await _ in consumer.records {}
                        } catch {
                            unexpected.errors.withLock { $0.append("records: \(error)") }
                        }
                    }
                    for _ in 0..<4 {
                        group.addTask {
                            while true {
                                _ = consumer.cachedWatermarks(topic: "t", partition: 0)
                                do {
                                    _ = try await consumer.assignment()
                                    try await consumer.pause([KafkaTopicPartition(topic: "t", partition: 1)])
                                    try await consumer.resume([KafkaTopicPartition(topic: "t", partition: 1)])
                                    try await consumer.commit(
                                        [KafkaTopicPartition(topic: "t", partition: 0, offset: .exact(1))], waitForBroker: round % 2 == 0)
                                } catch let error as KafkaError where error.code == .destroyed {
                                    return
                                } catch is KafkaError {
                                    // A commit racing the close may fail on its own terms; it was answered.
                                    continue
                                } catch {
                                    unexpected.errors.withLock { $0.append("call: \(error)") }
                                    return
                                }
                            }
                        }
                    }
                    group.addTask {
                        try? await Task.sleep(for: .milliseconds(10 + 15 * round))
                        await consumer.close()
                    }
                }
                #expect(consumer.cachedWatermarks(topic: "t", partition: 0) == nil, "watermarks read from a closed consumer")
                #expect(unexpected.errors.withLock { $0 } == [])
            }
        }
    }

    @Test("A producer closed while tasks send records, batches and metadata loads answers each call", .timeLimit(.minutes(3)))
    func producerCloseWhileInUse() async throws {
        try await withCluster(partitions: 2) { cluster in
            for round in 0..<8 {
                let producer = try KafkaProducer(configuration: .init(bootstrapServers: cluster.bootstrapServers))
                let answered = RaceLog()
                await withTaskGroup(of: Void.self) { group in
                    for task in 0..<4 {
                        group.addTask {
                            for index in 0..<40 {
                                switch index % 3 {
                                case 0: _ = try? await producer.send(record("t", Int32(index % 2), "\(task)-\(index)"))
                                case 1: _ = await producer.send((0..<20).map { record("t", Int32($0 % 2), "\(task)-\(index)-\($0)") })
                                default: try? await producer.loadTopicMetadata(timeout: .seconds(1))
                                }
                                answered.answered.withLock { $0 += 1 }
                            }
                        }
                    }
                    group.addTask {
                        try? await Task.sleep(for: .milliseconds(5 + 10 * round))
                        await producer.close(flushTimeout: .seconds(2))
                    }
                }
                #expect(answered.answered.withLock { $0 } == 160, "every call got an answer")
                // Refused as closed at once, never tried on the destroyed client.
                let late = await #expect(throws: KafkaError.self) { try await producer.loadTopicMetadata(timeout: .seconds(1)) }
                #expect(late?.code == .destroyed, "metadata after close: \(String(describing: late))")
            }
        }
    }
}

/// What the tasks of a race saw, shared between them.
final class RaceLog: Sendable {
    let errors = Locked<[String]>([])
    let answered = Locked(0)
}
