import Kafka

/// The Swift side: the same measurements through `KafkaProducer` and `KafkaConsumer`.
struct WrapperRunner: Sendable {
    let setup: BenchSetup

    func makeProducer(_ target: BenchTarget) throws -> KafkaProducer {
        try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: target.bootstrapServers, properties: setup.producerProperties))
    }

    func makeConsumer(_ target: BenchTarget) throws -> KafkaConsumer {
        try KafkaConsumer(configuration: KafkaConfiguration(bootstrapServers: target.bootstrapServers, properties: setup.consumerProperties))
    }

    /// One record per partition, untimed, as the C side does: connects, fetches metadata and the producer id.
    func warmUp(_ producer: KafkaProducer, _ target: BenchTarget) async throws {
        let payload = LatencyPayload.make(size: 16, sequence: LatencyPayload.warmUpSequence)
        let records = (0..<target.partitions).map { KafkaProducerRecord(topic: target.topic, partition: Int32($0), value: payload) }
        _ = try await producer.send(records).get()
    }

    /// `send([...])` in chunks of `batchSize`, with `batchesInFlight` chunks outstanding at a time.
    func produceBatches(_ target: BenchTarget) async throws -> ThroughputSample {
        let producer = try makeProducer(target)
        try await warmUp(producer, target)
        let (total, batchSize, inFlight, partitions) = (setup.messages, setup.batchSize, setup.batchesInFlight, target.partitions)
        let payload = [UInt8](repeating: UInt8(ascii: "x"), count: setup.payloadBytes)
        let topic = target.topic

        let start = monotonicNanoseconds()
        let cpuStart = processCPUNanoseconds()
        let delivered = await withTaskGroup(of: Int.self) { group in
            var next = 0
            var running = 0
            var delivered = 0
            func chunk(_ range: Range<Int>) -> @Sendable () async -> Int {
                {
                    // Building the records is part of the cost of using the wrapper, so it is timed.
                    let records = range.map { KafkaProducerRecord(topic: topic, partition: Int32($0 % partitions), value: payload) }
                    return await producer.send(records).deliveredCount
                }
            }
            while true {
                while next < total && running < inFlight {
                    let range = next..<min(next + batchSize, total)
                    next = range.upperBound
                    running += 1
                    group.addTask(operation: chunk(range))
                }
                guard let done = await group.next() else { break }
                running -= 1
                delivered += done
            }
            return delivered
        }
        let elapsed = monotonicNanoseconds() - start
        let cpu = processCPUNanoseconds() - cpuStart
        await producer.close()
        return ThroughputSample(records: delivered, failed: total - delivered, nanoseconds: elapsed, cpuNanoseconds: cpu)
    }

    /// The single-record path: `singleSendTasks` tasks, each awaiting `send` for its share of the records.
    func produceSingles(_ target: BenchTarget) async throws -> ThroughputSample {
        let producer = try makeProducer(target)
        try await warmUp(producer, target)
        let (total, tasks, partitions) = (setup.messages, setup.singleSendTasks, target.partitions)
        let payload = [UInt8](repeating: UInt8(ascii: "x"), count: setup.payloadBytes)
        let topic = target.topic

        let start = monotonicNanoseconds()
        let cpuStart = processCPUNanoseconds()
        let delivered = await withTaskGroup(of: Int.self) { group in
            for worker in 0..<tasks {
                group.addTask {
                    var delivered = 0
                    for index in stride(from: worker, to: total, by: tasks) {
                        let record = KafkaProducerRecord(topic: topic, partition: Int32(index % partitions), value: payload)
                        if (try? await producer.send(record)) != nil { delivered += 1 }
                    }
                    return delivered
                }
            }
            return await group.reduce(0, +)
        }
        let elapsed = monotonicNanoseconds() - start
        let cpu = processCPUNanoseconds() - cpuStart
        await producer.close()
        return ThroughputSample(records: delivered, failed: total - delivered, nanoseconds: elapsed, cpuNanoseconds: cpu)
    }
}
