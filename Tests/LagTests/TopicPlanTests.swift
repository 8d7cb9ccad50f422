import ChatDomain
import ChatProvisioning
import Testing

/// The topic plan against observed clusters, including what the embedded cluster cannot show
/// (configurations, replication factors).
@Suite struct TopicPlanTests {
    let layout = ChatTopicLayout(partitions: 12, replicationFactor: 3)

    func observed(partitions: Int = 12, replicationFactor: Int = 3, configs: Bool = true) -> [String: ObservedTopic] {
        Dictionary(
            uniqueKeysWithValues: layout.topics.map {
                ($0.name, ObservedTopic(partitions: partitions, replicationFactor: replicationFactor, configs: configs ? $0.configs : nil))
            })
    }

    @Test func layoutMatchesTheDesign() throws {
        let topics = Dictionary(uniqueKeysWithValues: layout.topics.map { ($0.name, $0) })
        #expect(Set(topics.keys) == Set(ChatTopics.all))
        for topic in topics.values {
            #expect(topic.configs["min.insync.replicas"] == "2")
            #expect(topic.replicationFactor == 3)
        }
        #expect(topics[ChatTopics.rooms]?.configs["retention.ms"] == "604800000")
        #expect(topics[ChatTopics.signals]?.configs["retention.ms"] == "600000")
        #expect(topics[ChatTopics.presence]?.configs["cleanup.policy"] == "compact")
        #expect(topics[ChatTopics.cursors]?.configs["cleanup.policy"] == "compact")
        #expect(topics[ChatTopics.rooms]?.partitions == topics[ChatTopics.signals]?.partitions)
        #expect(ChatTopicLayout(partitions: 1, replicationFactor: 1).minInSyncReplicas == 1)
    }

    @Test func emptyClusterCreatesEverything() {
        let plan = TopicPlan.make(layout: layout, observed: [:], configsVerified: true)
        #expect(plan.creates.map(\.name) == ChatTopics.all)
        #expect(!plan.hasDrift)
    }

    @Test func matchingClusterIsInPlace() {
        let plan = TopicPlan.make(layout: layout, observed: observed(), configsVerified: true)
        #expect(plan.items.allSatisfy { $0.action == .inPlace })
        #expect(plan.describe(dryRun: false).allSatisfy { $0.hasSuffix(": in place") })
    }

    @Test func configurationDriftIsReportedWithTheFix() {
        var cluster = observed()
        cluster[ChatTopics.rooms]?.configs?["retention.ms"] = "86400000"
        cluster[ChatTopics.cursors]?.configs?["cleanup.policy"] = nil
        let plan = TopicPlan.make(layout: layout, observed: cluster, configsVerified: true)
        #expect(plan.items[0].action == .drift([.config(key: "retention.ms", expected: "604800000", actual: "86400000")]))
        #expect(plan.items[3].action == .drift([.config(key: "cleanup.policy", expected: "compact", actual: nil)]))
        #expect(plan.describe(dryRun: false).contains { $0.contains("kafka-configs.sh --alter") && $0.contains("retention.ms=604800000") })
    }

    @Test func replicationDriftIsReported() {
        let plan = TopicPlan.make(layout: layout, observed: observed(replicationFactor: 2), configsVerified: true)
        #expect(plan.items.allSatisfy { $0.action == .drift([.replicationFactor(expected: 3, actual: 2)]) })
        #expect(plan.describe(dryRun: true).contains { $0.contains("kafka-reassign-partitions.sh") })
    }

    @Test func unknownConfigurationsAreNotDrift() {
        let plan = TopicPlan.make(layout: layout, observed: observed(configs: false), configsVerified: false)
        #expect(!plan.hasDrift)
        #expect(plan.describe(dryRun: false)[0] == "chat.rooms: in place (partitions and replication factor)")
    }

    @Test func moreRoomPartitionsThanDeclaredAsksToDeclareThem() {
        let plan = TopicPlan.make(layout: layout, observed: observed(partitions: 24), configsVerified: true)
        #expect(plan.hasDrift)
        #expect(plan.describe(dryRun: false).contains { $0.contains("declare the actual count (--partitions 24") })
    }

    @Test func fewerRoomPartitionsPrintsTheGrowthProcedureInsteadOfGrowing() {
        var cluster = observed()
        cluster[ChatTopics.rooms]?.partitions = 8
        cluster[ChatTopics.signals]?.partitions = 8
        let plan = TopicPlan.make(layout: layout, observed: cluster, configsVerified: true)
        #expect(plan.creates.isEmpty)
        let text = plan.describe(dryRun: false).joined(separator: "\n")
        #expect(text.contains("chat.rooms is never grown by topics apply"))
        #expect(text.contains("keep CHAT_ROOM_PARTITIONS=8"))
    }

    @Test func signalsAreNotCreatedWithACountRoomsDoesNotHave() {
        let plan = TopicPlan.make(
            layout: layout, observed: [ChatTopics.rooms: ObservedTopic(partitions: 8, replicationFactor: 3, configs: nil)], configsVerified: false)
        #expect(plan.items[2].action == .drift([.placementMismatch(rooms: 8, signals: 0)]))
        #expect(plan.creates.map(\.name) == [ChatTopics.presence, ChatTopics.cursors])
    }
}
