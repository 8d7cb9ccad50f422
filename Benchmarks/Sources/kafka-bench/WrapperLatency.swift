import Kafka

extension WrapperRunner {
    /// The paced stream through `KafkaProducer.send` and `KafkaConsumer.records`. One entry per
    /// record sent: its latency in nanoseconds, or -1 when it never arrived.
    func latency(_ target: BenchTarget) async throws -> [Int64] {
        let consumer = try makeConsumer(target)
        try await consumer.assign(
            (0..<target.partitions).map {
                KafkaTopicPartition(topic: target.topic, partition: Int32($0), offset: .beginning)
            })
        let producer = try makeProducer(target)
        let total = setup.latencyRecordCount
        let partitions = target.partitions
        let (warm, warmSignal) = AsyncStream.makeStream(of: Void.self)

        let reader = Task {
            defer { warmSignal.finish() }
            var latencies = [Int64](repeating: -1, count: total)
            var warmUps = 0
            var received = 0
            for try await record in consumer.records {
                let now = monotonicNanoseconds()
                guard let (sequence, stamp) = LatencyPayload.read(record.value) else { continue }
                if sequence == LatencyPayload.warmUpSequence {
                    warmUps += 1
                    if warmUps == partitions { warmSignal.yield() }
                } else if sequence < UInt64(total), latencies[Int(sequence)] < 0 {
                    latencies[Int(sequence)] = now - stamp
                    received += 1
                    if received == total { break }
                }
            }
            return latencies
        }

        // Timing starts once the consumer has fetched a record of every partition, as on the C side.
        let warmUpWatchdog = closeAfter(.seconds(30), consumer)
        try await warmUp(producer, target)
        var warmUpDone = warm.makeAsyncIterator()
        guard await warmUpDone.next() != nil else {
            await producer.close()
            throw BenchError.wrapper("the consumer did not see the warm-up records")
        }
        warmUpWatchdog.cancel()

        try await sendPaced(producer, target, total: total)
        let drainWatchdog = closeAfter(.seconds(10), consumer)
        let latencies = try await reader.value
        drainWatchdog.cancel()
        await consumer.close()
        await producer.close()
        return latencies
    }

    /// Starts one task per record on schedule; each stamps its record right before `send`, as the
    /// C side stamps right before `rd_kafka_producev`, and awaits the acknowledgement like a caller would.
    private func sendPaced(_ producer: KafkaProducer, _ target: BenchTarget, total: Int) async throws {
        let clock = ContinuousClock()
        let interval = Duration.nanoseconds(1_000_000_000 / setup.latencyRatePerSecond)
        let start = clock.now.advanced(by: .milliseconds(1))
        let (topic, partitions, payloadBytes) = (target.topic, target.partitions, setup.payloadBytes)
        let failures = await withTaskGroup(of: Int.self) { group in
            for sequence in 0..<total {
                try? await clock.sleep(until: start.advanced(by: interval * sequence), tolerance: .zero)
                group.addTask {
                    var payload = LatencyPayload.make(size: payloadBytes, sequence: UInt64(sequence))
                    LatencyPayload.stamp(&payload, sequence: UInt64(sequence), at: monotonicNanoseconds())
                    let record = KafkaProducerRecord(topic: topic, partition: Int32(sequence % partitions), value: payload)
                    return (try? await producer.send(record)) == nil ? 1 : 0
                }
            }
            return await group.reduce(0, +)
        }
        if failures > 0 { progress("swift latency: \(failures) sends failed") }
    }
}
