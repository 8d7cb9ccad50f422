import Kafka

extension WrapperRunner {
    /// Reads `expected` records from the beginning of every partition through `records`; times first to last.
    func consume(_ target: BenchTarget, expected: Int) async throws -> ThroughputSample {
        let consumer = try makeConsumer(target)
        try await consumer.assign(
            (0..<target.partitions).map {
                KafkaTopicPartition(topic: target.topic, partition: Int32($0), offset: .beginning)
            })
        let watchdog = closeAfter(.seconds(120), consumer)
        var received = 0
        var first: Int64 = 0
        var last: Int64 = 0
        var cpuFirst: Int64 = 0
        // Touch every payload, as the C reader does.
        var checksum: UInt64 = 0
        for try await record in consumer.records {
            last = monotonicNanoseconds()
            if received == 0 {
                first = last
                // A system call, unlike the monotonic clock: read at the ends only, as in C.
                cpuFirst = processCPUNanoseconds()
            }
            received += 1
            checksum &+= UInt64(record.value.last ?? 0)
            if received == expected { break }
        }
        let cpu = processCPUNanoseconds() - cpuFirst
        watchdog.cancel()
        await consumer.close()
        guard received == expected else {
            throw BenchError.wrapper("consume timed out: \(received) of \(expected) records (checksum \(checksum))")
        }
        return ThroughputSample(records: received, failed: 0, nanoseconds: last - first, cpuNanoseconds: cpu)
    }

    /// Closing the consumer ends its `records` sequence, which is how a reader stuck waiting gives up.
    func closeAfter(_ timeout: Duration, _ consumer: KafkaConsumer) -> Task<Void, Never> {
        Task {
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            await consumer.close()
        }
    }
}
