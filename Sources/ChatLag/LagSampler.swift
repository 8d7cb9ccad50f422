import ChatDomain
import Foundation
import Kafka

/// Reads one ``LagSnapshot`` from the cluster: committed offsets of the groups, log offsets of the
/// chat topics' partitions, and the timestamps of the records at the committed offsets.
public struct LagSampler: Sendable {
    public let admin: KafkaAdmin
    public let timestamps: RecordTimestampReader
    /// Topics whose partitions are sampled; groups are reported on those they committed to.
    public var topics: [String]
    /// Wait for each broker round trip.
    public var timeout: Duration

    public init(admin: KafkaAdmin, timestamps: RecordTimestampReader, topics: [String] = ChatTopics.all, timeout: Duration = .seconds(10)) {
        self.admin = admin
        self.timestamps = timestamps
        self.topics = topics
        self.timeout = timeout
    }

    /// Never throws: what cannot be read is recorded in the snapshot, so a monitor keeps running
    /// through outages and reports them as ERR.
    public func sample(groups: [String]) async -> LagSnapshot {
        let metadata: KafkaClusterMetadata
        do {
            metadata = try await admin.clusterMetadata(timeout: timeout)
        } catch {
            return LagSnapshot(time: WallClock.milliseconds(), clusterError: "\(error)")
        }
        var keys: [KafkaTopicPartitionKey: KafkaPartitionMetadata] = [:]
        for topic in topics {
            for partition in metadata.topics[topic]?.partitions ?? [] {
                keys[KafkaTopicPartitionKey(topic: topic, partition: partition.id)] = partition
            }
        }
        // Committed offsets first, log offsets second: a consumer that advanced in between then
        // shows a little more lag, never a committed offset past the log end.
        let committed = await groupOffsets(groups, partitions: keys.keys.sorted())
        let time = WallClock.milliseconds()
        let logOffsets = await logOffsets(keys)
        var wanted: Set<PartitionOffset> = []
        for case .committed(let offsets) in committed.values {
            for (key, offset) in offsets {
                guard case .offsets(let logStart, let logEnd) = logOffsets[key], offset < logEnd, offset >= logStart else { continue }
                wanted.insert(PartitionOffset(partition: key, offset: offset))
            }
        }
        let recordTimestamps = await timestamps.timestamps(of: wanted, timeout: min(timeout, .seconds(3)))
        return LagSnapshot(time: time, partitions: logOffsets, groups: committed, recordTimestamps: recordTimestamps)
    }

    private func groupOffsets(_ groups: [String], partitions: [KafkaTopicPartitionKey]) async -> [String: GroupOffsets] {
        let admin = self.admin
        let timeout = self.timeout
        let request = partitions.map { KafkaTopicPartition(topic: $0.topic, partition: $0.partition) }
        return await withTaskGroup(of: (String, GroupOffsets).self) { tasks in
            for group in Set(groups) {
                tasks.addTask {
                    do {
                        return (group, .committed(try await admin.groupOffsets(group: group, partitions: request, timeout: timeout)))
                    } catch {
                        return (group, .error("\(error)"))
                    }
                }
            }
            var result: [String: GroupOffsets] = [:]
            for await (group, offsets) in tasks { result[group] = offsets }
            return result
        }
    }

    private func logOffsets(_ partitions: [KafkaTopicPartitionKey: KafkaPartitionMetadata]) async -> [KafkaTopicPartitionKey: PartitionOffsets] {
        let admin = self.admin
        let timeout = self.timeout
        return await withTaskGroup(of: (KafkaTopicPartitionKey, PartitionOffsets).self) { tasks in
            for (key, metadata) in partitions {
                tasks.addTask {
                    if let error = metadata.error, metadata.leader < 0 {
                        return (key, .error("\(key) has no leader: \(error.name)"))
                    }
                    guard metadata.leader >= 0 else { return (key, .error("\(key) has no leader")) }
                    do {
                        let watermarks = try await admin.watermarks(topic: key.topic, partition: key.partition, timeout: timeout)
                        return (key, .offsets(logStart: watermarks.low, logEnd: watermarks.high))
                    } catch {
                        return (key, .error("\(error)"))
                    }
                }
            }
            var result: [KafkaTopicPartitionKey: PartitionOffsets] = [:]
            for await (key, offsets) in tasks { result[key] = offsets }
            return result
        }
    }
}
