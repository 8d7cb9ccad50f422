import Kafka

/// Keeps the recent samples of every group on every partition and turns each new snapshot into a
/// report. A value type without I/O: the sampler feeds it, tests feed it synthetic snapshots.
public struct LagHistory: Sendable {
    public let evaluator: LagEvaluator
    private var windows: [String: [KafkaTopicPartitionKey: [PartitionSample]]] = [:]
    private var samplesTaken = 0

    public init(rules: LagRules = LagRules()) {
        self.evaluator = LagEvaluator(rules: rules)
    }

    /// Adds a snapshot and evaluates every partition of every group it names.
    ///
    /// A group's topics are those it has a committed offset on, now or earlier in the window; on
    /// those topics every partition is reported, with or without a committed offset. Groups the
    /// snapshot does not name are forgotten.
    public mutating func record(_ snapshot: LagSnapshot) -> LagReport {
        samplesTaken += 1
        if let clusterError = snapshot.clusterError {
            for (group, partitions) in windows {
                for key in partitions.keys {
                    append(PartitionSample(time: snapshot.time, committed: nil, logStart: nil, logEnd: nil, error: clusterError), group, key)
                }
            }
        } else {
            windows = windows.filter { snapshot.groups[$0.key] != nil }
            for (group, offsets) in snapshot.groups {
                record(group: group, offsets: offsets, snapshot: snapshot)
            }
        }
        return report(snapshot)
    }

    private mutating func record(group: String, offsets: GroupOffsets, snapshot: LagSnapshot) {
        switch offsets {
        case .error(let message):
            for key in windows[group, default: [:]].keys {
                append(PartitionSample(time: snapshot.time, committed: nil, logStart: nil, logEnd: nil, error: message), group, key)
            }
            if windows[group] == nil { windows[group] = [:] }
        case .committed(let committed):
            let known = windows[group, default: [:]]
            let topics = Set(committed.keys.map(\.topic)).union(known.keys.map(\.topic))
            // Partitions that left the metadata (topic deleted) leave the report too.
            windows[group] = known.filter { snapshot.partitions[$0.key] != nil }
            for (key, logOffsets) in snapshot.partitions where topics.contains(key.topic) {
                var sample = PartitionSample(time: snapshot.time, committed: committed[key], logStart: nil, logEnd: nil)
                switch logOffsets {
                case .offsets(let logStart, let logEnd):
                    sample.logStart = logStart
                    sample.logEnd = logEnd
                case .error(let message):
                    sample.error = message
                }
                append(sample, group, key)
            }
        }
    }

    private mutating func append(_ sample: PartitionSample, _ group: String, _ key: KafkaTopicPartitionKey) {
        var window = windows[group, default: [:]][key, default: []]
        window.append(sample)
        if window.count > evaluator.rules.windowSize { window.removeFirst(window.count - evaluator.rules.windowSize) }
        windows[group, default: [:]][key] = window
    }

    private func report(_ snapshot: LagSnapshot) -> LagReport {
        let groups = windows.keys.sorted().map { group in
            groupReport(group, error: snapshot.clusterError ?? snapshot.groups[group].flatMap(Self.error), snapshot: snapshot)
        }
        let partitions = snapshot.partitions.keys.sorted().compactMap { key -> PartitionLogOffsets? in
            guard case .offsets(let logStart, let logEnd) = snapshot.partitions[key] else { return nil }
            return PartitionLogOffsets(topic: key.topic, partition: key.partition, earliest: logStart, latest: logEnd)
        }
        return LagReport(
            sampledAt: snapshot.time, samples: min(samplesTaken, evaluator.rules.windowSize), error: snapshot.clusterError, groups: groups,
            partitions: partitions)
    }

    private func groupReport(_ group: String, error: String?, snapshot: LagSnapshot) -> GroupLag {
        let partitions = windows[group, default: [:]].sorted { $0.key < $1.key }.map { key, window in
            partitionReport(key, window: window, snapshot: snapshot)
        }
        let statuses = partitions.compactMap(\.status)
        let lags = partitions.compactMap(\.lag)
        let worst = statuses.max()
        return GroupLag(
            group: group,
            status: error != nil ? .err : (worst?.groupLevel ?? .ok),
            worstPartitionStatus: worst,
            totalLag: lags.reduce(0, +),
            maxLag: lags.max() ?? 0,
            maxLagSeconds: partitions.compactMap(\.lagSeconds).max(),
            error: error,
            partitions: partitions)
    }

    private func partitionReport(_ key: KafkaTopicPartitionKey, window: [PartitionSample], snapshot: LagSnapshot) -> PartitionLag {
        let verdict = evaluator.evaluate(window)
        let latest = window.last
        let lag = latest?.lag
        var lagSeconds: Double?
        if lag == 0 {
            lagSeconds = 0
        } else if let latest, let committed = latest.committed,
            let timestamp = snapshot.recordTimestamps[PartitionOffset(partition: key, offset: committed)]
        {
            lagSeconds = max(0, Double(latest.time - timestamp) / 1000)
        }
        return PartitionLag(
            topic: key.topic, partition: key.partition, committedOffset: latest?.committed, logStartOffset: latest?.logStart,
            logEndOffset: latest?.logEnd, lag: lag, lagSeconds: lagSeconds, status: verdict.status, reason: verdict.reason)
    }

    private static func error(_ offsets: GroupOffsets) -> String? {
        if case .error(let message) = offsets { return message }
        return nil
    }
}
