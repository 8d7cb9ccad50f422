import Foundation

/// Renders a report in the Prometheus text exposition format (version 0.0.4).
///
/// Metric names follow the Kafka lag exporters that dashboards and the alert rules in
/// deploy/prometheus/alerts.yml already use; `chat_consumergroup_status` carries ``LagStatus``'s
/// raw values. Partitions without a committed offset export no group series at all, so they never
/// count as lag.
public enum LagPrometheusRenderer {
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// - Parameter sampleDuration: seconds the latest sampling pass took, exported when given.
    public static func render(_ report: LagReport?, sampleDuration: Double? = nil) -> String {
        var output = MetricWriter()
        guard let report else {
            output.family("chat_lag_exporter_up", "1 when the latest sample read the cluster.", [([], 0)])
            return output.text
        }
        let groupPartitions = report.groups.flatMap { group in group.partitions.map { (group.group, $0) } }
        func partitionLabels(_ group: String, _ partition: PartitionLag) -> [(String, String)] {
            [("group", group), ("topic", partition.topic), ("partition", String(partition.partition))]
        }
        output.family(
            "kafka_consumergroup_group_offset", "Offset the group committed on the partition (the next offset it reads).",
            groupPartitions.compactMap { group, partition in partition.committedOffset.map { (partitionLabels(group, partition), Double($0)) } })
        output.family(
            "kafka_consumergroup_group_lag", "Messages between the group's committed offset and the log end offset.",
            groupPartitions.compactMap { group, partition in partition.lag.map { (partitionLabels(group, partition), Double($0)) } })
        output.family(
            "kafka_consumergroup_group_lag_seconds",
            "Age of the oldest message the group has not committed: sample time minus the timestamp of the record at the committed offset.",
            groupPartitions.compactMap { group, partition in partition.lagSeconds.map { (partitionLabels(group, partition), $0) } })
        let committedGroups = report.groups.filter { $0.partitions.contains { $0.committedOffset != nil } }
        output.family(
            "kafka_consumergroup_group_max_lag", "Largest lag of the group over its partitions.",
            committedGroups.map { ([("group", $0.group)], Double($0.maxLag)) })
        output.family(
            "kafka_consumergroup_group_sum_lag", "Sum of the group's lag over its partitions.",
            committedGroups.map { ([("group", $0.group)], Double($0.totalLag)) })
        output.family(
            "kafka_partition_latest_offset", "Log end offset of the partition (the offset of the next message written).",
            report.partitions.map { ([("topic", $0.topic), ("partition", String($0.partition))], Double($0.latest)) })
        output.family(
            "kafka_partition_earliest_offset", "Log start offset of the partition (the oldest retained message).",
            report.partitions.map { ([("topic", $0.topic), ("partition", String($0.partition))], Double($0.earliest)) })
        output.family(
            "chat_consumergroup_status", "Status of the group on the partition: 0=OK 1=WARN 2=STALL 3=STOP 4=ERR (docs/operations.md).",
            groupPartitions.compactMap { group, partition in partition.status.map { (partitionLabels(group, partition), Double($0.rawValue)) } })
        output.family(
            "chat_consumergroup_group_status", "Status of the group: 0=OK 1=WARN 4=ERR (any partition STALL, STOP or ERR, or offsets unreadable).",
            report.groups.map { ([("group", $0.group)], Double($0.status.rawValue)) })
        output.family("chat_lag_exporter_up", "1 when the latest sample read the cluster.", [([], report.error == nil ? 1 : 0)])
        output.family(
            "chat_lag_exporter_last_sample_timestamp_seconds", "When the latest sample was taken (Unix time).",
            [([], Double(report.sampledAt) / 1000)])
        output.family("chat_lag_exporter_window_samples", "Samples the statuses are judged on.", [([], Double(report.samples))])
        if let sampleDuration {
            output.family("chat_lag_exporter_sample_duration_seconds", "Duration of the latest sampling pass.", [([], sampleDuration)])
        }
        return output.text
    }
}

/// Accumulates gauge families in exposition format.
struct MetricWriter {
    private(set) var text = ""

    mutating func family(_ name: String, _ help: String, _ samples: [([(String, String)], Double)]) {
        guard !samples.isEmpty else { return }
        text += "# HELP \(name) \(Self.escapeHelp(help))\n# TYPE \(name) gauge\n"
        for (labels, value) in samples {
            text += name
            if !labels.isEmpty {
                text += "{" + labels.map { "\($0.0)=\"\(Self.escapeLabel($0.1))\"" }.joined(separator: ",") + "}"
            }
            text += " \(Self.format(value))\n"
        }
    }

    static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    static func escapeLabel(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n")
    }

    static func escapeHelp(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\n", with: "\\n")
    }
}
