import ChatDomain

/// A topic as the cluster has it.
public struct ObservedTopic: Sendable, Hashable {
    public var partitions: Int
    /// The smallest replica count of its partitions.
    public var replicationFactor: Int
    /// Its configuration, `nil` when the cluster cannot describe it.
    public var configs: [String: String]?

    public init(partitions: Int, replicationFactor: Int, configs: [String: String]?) {
        self.partitions = partitions
        self.replicationFactor = replicationFactor
        self.configs = configs
    }
}

/// How a topic differs from the layout.
public enum TopicDrift: Sendable, Hashable, CustomStringConvertible {
    case partitions(expected: Int, actual: Int)
    case replicationFactor(expected: Int, actual: Int)
    /// `actual` is `nil` when the topic does not set it and the broker default applies.
    case config(key: String, expected: String, actual: String?)
    /// `chat.rooms` and `chat.signals` must have the same count (one room, same partition number).
    case placementMismatch(rooms: Int, signals: Int)

    public var description: String {
        switch self {
        case .partitions(let expected, let actual): "partitions: \(actual), layout says \(expected)"
        case .replicationFactor(let expected, let actual): "replication factor: \(actual), layout says \(expected)"
        case .config(let key, let expected, let actual): "\(key): \(actual ?? "unset"), layout says \(expected)"
        case .placementMismatch(let rooms, let signals):
            "\(ChatTopics.rooms) has \(rooms) partitions but \(ChatTopics.signals) has \(signals) (0: missing): they must be equal"
        }
    }
}

/// What `chatctl topics apply` does with one topic.
public enum TopicAction: Sendable, Hashable {
    case create(ChatTopicSpecification)
    case inPlace
    case drift([TopicDrift])
}

/// The plan for every topic of the layout, in layout order.
public struct TopicPlan: Sendable, Hashable {
    public var items: [Item]
    /// Whether topic configurations could be compared (DescribeConfigs answered).
    public var configsVerified: Bool

    public struct Item: Sendable, Hashable {
        public var topic: String
        public var action: TopicAction
    }

    public var creates: [ChatTopicSpecification] {
        items.compactMap { if case .create(let specification) = $0.action { specification } else { nil } }
    }

    public var hasDrift: Bool {
        items.contains { if case .drift = $0.action { true } else { false } }
    }

    /// Compares the layout with what the cluster has. Never plans to change an existing topic:
    /// partition counts only grow by a procedure (rooms must not move), replication changes need
    /// a reassignment, and configuration belongs to whoever changed it; all are reported as drift.
    public static func make(layout: ChatTopicLayout, observed: [String: ObservedTopic], configsVerified: Bool) -> TopicPlan {
        let rooms = observed[ChatTopics.rooms]?.partitions
        let signals = observed[ChatTopics.signals]?.partitions
        let items = layout.topics.map { specification -> Item in
            guard let topic = observed[specification.name] else {
                // Creating one placement topic with a count its existing sibling does not have
                // would break the shared room mapping for good (partitions never shrink).
                if ChatTopicLayout.placementTopics.contains(specification.name), let rooms = rooms ?? signals, rooms != specification.partitions {
                    let mismatch: TopicDrift =
                        specification.name == ChatTopics.rooms
                        ? .placementMismatch(rooms: 0, signals: rooms) : .placementMismatch(rooms: rooms, signals: 0)
                    return Item(topic: specification.name, action: .drift([mismatch]))
                }
                return Item(topic: specification.name, action: .create(specification))
            }
            var drift: [TopicDrift] = []
            if topic.partitions != specification.partitions {
                drift.append(.partitions(expected: specification.partitions, actual: topic.partitions))
            }
            if topic.replicationFactor != specification.replicationFactor {
                drift.append(.replicationFactor(expected: specification.replicationFactor, actual: topic.replicationFactor))
            }
            if let configs = topic.configs {
                for (key, expected) in specification.configs.sorted(by: { $0.key < $1.key }) where configs[key] != expected {
                    drift.append(.config(key: key, expected: expected, actual: configs[key]))
                }
            }
            if specification.name == ChatTopics.signals, let rooms, let signals, rooms != signals {
                drift.append(.placementMismatch(rooms: rooms, signals: signals))
            }
            return Item(topic: specification.name, action: drift.isEmpty ? .inPlace : .drift(drift))
        }
        return TopicPlan(items: items, configsVerified: configsVerified)
    }
}
