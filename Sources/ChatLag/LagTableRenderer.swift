import Foundation

/// Renders a report as the text table of `chatctl lag`.
public enum LagTableRenderer {
    public static func render(_ report: LagReport) -> String {
        var lines: [String] = []
        let time = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(report.sampledAt) / 1000))
        lines.append("sampled at \(time), statuses over the last \(report.samples) sample(s)")
        if let error = report.error { lines.append("ERROR: \(error)") }
        if report.groups.isEmpty { lines.append("no consumer groups") }
        for group in report.groups {
            lines.append("")
            var summary = "group \(group.group): \(group.status)"
            if let worst = group.worstPartitionStatus, worst != group.status { summary += " (worst partition \(worst))" }
            summary += ", total lag \(group.totalLag), max lag \(group.maxLag)"
            if let seconds = group.maxLagSeconds { summary += " (\(format(seconds))s)" }
            lines.append(summary)
            if let error = group.error { lines.append("  error: \(error)") }
            let committed = group.partitions.filter { $0.committedOffset != nil }
            if group.partitions.isEmpty || committed.isEmpty {
                lines.append("  no committed offsets")
                if group.partitions.isEmpty { continue }
            }
            var rows = [["TOPIC", "PARTITION", "COMMITTED", "LOG END", "LAG", "LAG (S)", "STATUS", "DETAIL"]]
            for partition in group.partitions {
                rows.append([
                    partition.topic,
                    String(partition.partition),
                    partition.committedOffset.map(String.init) ?? "none",
                    partition.logEndOffset.map(String.init) ?? "?",
                    partition.lag.map(String.init) ?? "-",
                    partition.lagSeconds.map(format) ?? "-",
                    partition.status?.description ?? "-",
                    partition.reason,
                ])
            }
            lines.append(contentsOf: columns(rows).map { "  " + $0 })
        }
        return lines.joined(separator: "\n") + "\n"
    }

    static func format(_ seconds: Double) -> String {
        String(format: "%.1f", seconds)
    }

    static func columns(_ rows: [[String]]) -> [String] {
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { index, cell in
                index == row.count - 1 ? cell : cell.padding(toLength: widths[index], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }
    }
}
