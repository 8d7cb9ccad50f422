import ChatDomain
import Kafka
import Logging

/// Reads the timestamps of the records at given offsets with short-lived assign-only consumers
/// (they never join or commit to any group), remembering what it read.
///
/// A consumer can be assigned one offset per partition, so offsets of several groups on the same
/// partition are read in rounds, one fresh consumer per round: a fresh consumer never delivers a
/// record fetched for an earlier position.
public actor RecordTimestampReader {
    private let configuration: KafkaConfiguration
    private let logger: Logger
    private var cache: [PartitionOffset: Int64] = [:]

    public init(configuration: KafkaConfiguration, logger: Logger) {
        var configuration = configuration.withDefaults([
            // Only offsets below the log end are read, where a broker answers at once; the embedded
            // cluster instead waits the whole fetch.wait.max.ms.
            "fetch.wait.max.ms": "10",
            "max.partition.fetch.bytes": "65536",
            "auto.offset.reset": "earliest",
        ])
        configuration["group.id"] = configuration["group.id"] ?? ChatConsumerGroups.lagReader
        self.configuration = configuration
        self.logger = logger
    }

    /// Timestamps (ms since the epoch) of the records at `offsets`, or of the first record after
    /// one when it is gone (compaction) or out of range. Offsets not read within `timeout` per
    /// round are missing from the result.
    public func timestamps(of offsets: Set<PartitionOffset>, timeout: Duration) async -> [PartitionOffset: Int64] {
        var found = cache.filter { offsets.contains($0.key) }
        // Forget what is no longer asked for, so the cache stays as small as the consumers' positions.
        cache = found
        var rounds: [[PartitionOffset]] = []
        let missing = Dictionary(grouping: offsets.filter { found[$0] == nil }, by: \.partition)
        for (_, wanted) in missing {
            for (round, offset) in wanted.sorted(by: { $0.offset < $1.offset }).enumerated() {
                if rounds.count <= round { rounds.append([]) }
                rounds[round].append(offset)
            }
        }
        for round in rounds {
            let read = await readRound(round, timeout: timeout)
            found.merge(read) { first, _ in first }
            cache.merge(read) { first, _ in first }
        }
        return found
    }

    private func readRound(_ offsets: [PartitionOffset], timeout: Duration) async -> [PartitionOffset: Int64] {
        let consumer: KafkaConsumer
        do {
            consumer = try KafkaConsumer(configuration: configuration, bufferCapacity: 1024, logger: logger)
            try await consumer.assign(
                offsets.map { KafkaTopicPartition(topic: $0.partition.topic, partition: $0.partition.partition, offset: .exact($0.offset)) })
        } catch {
            logger.debug("cannot read record timestamps", metadata: ["error": "\(error)"])
            return [:]
        }
        let wanted = Dictionary(uniqueKeysWithValues: offsets.map { ($0.partition, $0) })
        let result = await withTaskGroup(of: [PartitionOffset: Int64].self) { group in
            group.addTask {
                var read: [PartitionOffset: Int64] = [:]
                do {
                    for try await record in consumer.records {
                        let key = KafkaTopicPartitionKey(topic: record.topic, partition: record.partition)
                        guard let offset = wanted[key], read[offset] == nil, record.offset >= offset.offset else { continue }
                        read[offset] = record.timestampMilliseconds
                        if read.count == wanted.count { break }
                    }
                } catch {}
                return read
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return [:]
            }
            var read: [PartitionOffset: Int64] = [:]
            if let first = await group.next() { read = first }
            group.cancelAll()
            for await more in group { read.merge(more) { first, _ in first } }
            return read
        }
        await consumer.close()
        return result.filter { $0.value >= 0 }
    }
}
