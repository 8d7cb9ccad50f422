import ChatDomain

extension TopicPlan {
    /// One line per topic, then what to do about drift, for `chatctl topics apply`.
    public func describe(dryRun: Bool) -> [String] {
        var lines: [String] = []
        for item in items {
            switch item.action {
            case .create(let topic):
                let configs = topic.configs.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
                lines.append(
                    "\(item.topic): \(dryRun ? "would create" : "create") with \(topic.partitions) partitions, replication factor \(topic.replicationFactor), \(configs)"
                )
            case .inPlace:
                lines.append("\(item.topic): in place\(configsVerified ? "" : " (partitions and replication factor)")")
            case .drift(let drift):
                lines.append("\(item.topic): DRIFT, left unchanged: " + drift.map(\.description).joined(separator: "; "))
            }
        }
        lines.append(contentsOf: remedies())
        return lines
    }

    /// What the operator should do about each kind of drift found.
    func remedies() -> [String] {
        var lines: [String] = []
        for item in items {
            guard case .drift(let drift) = item.action else { continue }
            for entry in drift {
                switch entry {
                case .partitions(let expected, let actual) where ChatTopicLayout.placementTopics.contains(item.topic) && expected > actual:
                    lines.append(contentsOf: Self.growthProcedure(from: actual, to: expected).map { "  " + $0 })
                case .partitions(let expected, let actual) where expected < actual:
                    lines.append(
                        "  \(item.topic): partitions are never removed; declare the actual count (--partitions \(actual), CHAT_PARTITIONS=\(actual))."
                    )
                case .partitions:
                    lines.append(
                        "  \(item.topic): add partitions with kafka-topics.sh --alter --partitions; keys move, so do it while the topic is quiet.")
                case .replicationFactor:
                    lines.append(
                        "  \(item.topic): change the replication factor with a partition reassignment (kafka-reassign-partitions.sh, Cruise Control)."
                    )
                case .config(let key, let expected, _):
                    lines.append(
                        "  \(item.topic): kafka-configs.sh --alter --entity-type topics --entity-name \(item.topic) --add-config \(key)=\(expected), if the layout is right."
                    )
                case .placementMismatch:
                    lines.append(
                        "  \(ChatTopics.rooms) and \(ChatTopics.signals) must have equal partition counts: add partitions to the smaller one (docs/deploy.md, section 7)."
                    )
                }
            }
        }
        var seen: Set<String> = []
        return lines.filter { seen.insert($0).inserted }
    }

    /// The documented procedure (docs/deploy.md, section 7) that grows the room topics without
    /// moving any existing room.
    public static func growthProcedure(from current: Int, to target: Int) -> [String] {
        [
            "\(ChatTopics.rooms) is never grown by topics apply: more partitions would move rooms hashed over \(current) unless",
            "the placement count is pinned. Grow from \(current) to \(target) with the procedure of docs/deploy.md, section 7:",
            "  1. make sure every room has a directory entry (backfill rooms placed over \(current));",
            "  2. kafka-topics.sh --alter --partitions \(target) for both \(ChatTopics.rooms) and \(ChatTopics.signals);",
            "  3. declare CHAT_PARTITIONS=\(target), keep CHAT_ROOM_PARTITIONS=\(current);",
            "  4. wait until every process sees the new partitions (metadata refresh, up to 5 minutes);",
            "  5. switch CHAT_ROOM_PARTITIONS to \(target) on all gateways at once;",
            "  6. check that chatctl lag shows the new partitions and both topics have \(target).",
        ]
    }
}
