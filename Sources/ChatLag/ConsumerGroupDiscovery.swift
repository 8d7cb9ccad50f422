import ChatDomain
import Foundation
import Kafka
import Logging

/// Finds the consumer groups of the system: `chat-compactor`, and `chat-fanout-<node id>` for
/// every gateway node.
///
/// Asks the brokers first (ListGroups). Where they do not implement it (the embedded cluster), it
/// reads the gateways' heartbeat records (`node:<id>` keys) from the compacted `chat.presence`
/// topic instead; `chat-compactor` is always included.
public struct ConsumerGroupDiscovery: Sendable {
    public static let compactorGroup = ChatConsumerGroups.compactor
    public static let fanoutPrefix = ChatConsumerGroups.fanoutPrefix
    static let nodeKeyPrefix = PresenceKeys.nodePrefix

    let admin: KafkaAdmin
    let configuration: KafkaConfiguration
    let logger: Logger
    var timeout: Duration

    public init(admin: KafkaAdmin, configuration: KafkaConfiguration, timeout: Duration = .seconds(10), logger: Logger) {
        self.admin = admin
        self.configuration = configuration
        self.timeout = timeout
        self.logger = logger
    }

    /// The groups, and where they were found (shown to the operator).
    public func discover() async throws -> DiscoveredGroups {
        do {
            let listed = try await admin.listConsumerGroups(timeout: timeout).filter(Self.isSystemGroup)
            return DiscoveredGroups(groups: Set(listed).union([Self.compactorGroup]).sorted(), source: "consumer groups listed by the brokers")
        } catch let error as KafkaError where error.code == .unsupportedFeature {
            let nodes = try await heartbeatNodes()
            return DiscoveredGroups(
                groups: Set(nodes.map { Self.fanoutPrefix + $0 }).union([Self.compactorGroup]).sorted(),
                source: "the brokers cannot list groups; \(nodes.count) gateway node(s) found in \(ChatTopics.presence) heartbeats")
        }
    }

    /// Whether a group belongs to the chat system.
    public static func isSystemGroup(_ group: String) -> Bool {
        group == compactorGroup || (group.hasPrefix(fanoutPrefix) && group.count > fanoutPrefix.count)
    }

    /// Node ids with a heartbeat record on `chat.presence`; none when the topic does not exist.
    func heartbeatNodes() async throws -> [String] {
        guard let partitions = try await admin.partitionCount(topic: ChatTopics.presence, timeout: timeout), partitions > 0 else { return [] }
        var assignment: [KafkaTopicPartition] = []
        var ends: [Int32: Int64] = [:]
        for partition in 0..<Int32(partitions) {
            let watermarks = try await admin.watermarks(topic: ChatTopics.presence, partition: partition, timeout: timeout)
            guard watermarks.high > watermarks.low else { continue }
            ends[partition] = watermarks.high
            assignment.append(KafkaTopicPartition(topic: ChatTopics.presence, partition: partition, offset: .exact(watermarks.low)))
        }
        guard !assignment.isEmpty else { return [] }
        var readerConfiguration = configuration.withDefaults(["fetch.wait.max.ms": "10"])
        readerConfiguration["group.id"] = readerConfiguration["group.id"] ?? ChatConsumerGroups.lagReader
        let consumer = try KafkaConsumer(configuration: readerConfiguration, bufferCapacity: 10_000, logger: logger)
        try await consumer.assign(assignment)
        let deadline = ContinuousClock.now + timeout
        let partitionEnds = ends
        let nodes = await withTaskGroup(of: Set<String>?.self) { group in
            group.addTask {
                var nodes: Set<String> = []
                var remaining = partitionEnds
                do {
                    for try await record in consumer.records {
                        if let key = record.key.map({ String(decoding: $0, as: UTF8.self) }), key.hasPrefix(Self.nodeKeyPrefix) {
                            let node = String(key.dropFirst(Self.nodeKeyPrefix.count))
                            // An empty value is a tombstone: the node's record was deleted.
                            if record.value.isEmpty { nodes.remove(node) } else if !node.isEmpty { nodes.insert(node) }
                        }
                        if let end = remaining[record.partition], record.offset + 1 >= end { remaining[record.partition] = nil }
                        if remaining.isEmpty { return nodes }
                    }
                } catch {}
                return nil
            }
            group.addTask {
                try? await Task.sleep(until: deadline)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            return first
        }
        await consumer.close()
        guard let nodes else {
            throw KafkaError(code: .timedOut, message: "reading gateway heartbeats from \(ChatTopics.presence) did not finish within \(timeout)")
        }
        return nodes.sorted()
    }
}

/// The outcome of ``ConsumerGroupDiscovery/discover()``.
public struct DiscoveredGroups: Sendable, Hashable {
    public var groups: [String]
    public var source: String
}
