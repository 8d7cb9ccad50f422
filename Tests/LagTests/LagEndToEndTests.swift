import ChatDomain
import ChatLag
import ChatTestSupport
import Foundation
import Kafka
import Testing

/// Lag, statuses and lag in seconds of consumer groups on an embedded cluster. Samples are taken
/// back to back: the rules count samples, not seconds, so no test waits for a window to pass.
@Suite(.serialized) struct LagEndToEndTests {
    let rules = LagRules(windowSize: 4, minimumSamples: 3)

    @Test func stoppedConsumerGoesSTOPThenOKAfterCatchingUp() async throws {
        try await LagFixture.with { fixture in
            let sampler = fixture.sampler()
            var history = LagHistory(rules: rules)
            let group = "chat-fanout-stopper"
            try await fixture.produce(10, partition: 1)
            try await fixture.commit(group: group, [1: 10])
            var report = history.record(await sampler.sample(groups: [group]))
            #expect(try report.group(group).partition(1).status == .ok)
            #expect(try report.group(group).partition(1).lag == 0)

            // The consumer stops committing while messages keep arriving.
            var lags: [Int64] = []
            for _ in 0..<4 {
                try await fixture.produce(5, partition: 1)
                report = history.record(await sampler.sample(groups: [group]))
                lags.append(try report.group(group).partition(1).lag ?? -1)
            }
            #expect(lags == [5, 10, 15, 20])
            let stopped = try report.group(group)
            #expect(try stopped.partition(1).status == .stop)
            #expect(stopped.status == .err)
            #expect(stopped.worstPartitionStatus == .stop)
            #expect(stopped.totalLag == 20 && stopped.maxLag == 20)

            // It resumes and catches up.
            try await fixture.commit(group: group, [1: 30])
            report = history.record(await sampler.sample(groups: [group]))
            #expect(try report.group(group).partition(1).status == .ok)
            #expect(try report.group(group).status == .ok)
            #expect(try report.group(group).partition(1).lagSeconds == 0)
        }
    }

    @Test func consumerWithoutProgressOnAQuietPartitionIsSTALL() async throws {
        try await LagFixture.with { fixture in
            let sampler = fixture.sampler()
            var history = LagHistory(rules: rules)
            try await fixture.produce(10, partition: 2)
            try await fixture.commit(group: "chat-compactor", [2: 3])
            var report = history.record(await sampler.sample(groups: ["chat-compactor"]))
            for _ in 0..<3 { report = history.record(await sampler.sample(groups: ["chat-compactor"])) }
            let partition = try report.group("chat-compactor").partition(2)
            #expect(partition.status == .stall)
            #expect(partition.lag == 7)
            #expect(try report.group("chat-compactor").status == .err)
        }
    }

    @Test func lagInSecondsIsTheAgeOfTheRecordAtTheCommittedOffset() async throws {
        try await LagFixture.with { fixture in
            // Records stamped two minutes ago, then two stamped now: the first unconsumed one is old.
            let stamped = nowMilliseconds() - 120_000
            try await fixture.produce(3, partition: 0, timestamp: stamped)
            try await fixture.produce(2, partition: 0)
            try await fixture.commit(group: "g-seconds", [0: 1])
            let before = nowMilliseconds()
            let snapshot = await fixture.sampler().sample(groups: ["g-seconds"])
            let after = nowMilliseconds()
            var history = LagHistory(rules: rules)
            let lagSeconds = try #require(try history.record(snapshot).group("g-seconds").partition(0).lagSeconds)
            // Documented bound: the true age at the moment the offsets were read, which lies
            // between the start and the end of the sampling pass (same clock here, no skew).
            #expect(lagSeconds >= Double(before - stamped) / 1000 - 0.001)
            #expect(lagSeconds <= Double(after - stamped) / 1000 + 0.001)
            #expect(snapshot.recordTimestamps[PartitionOffset(partition: .init(topic: ChatTopics.rooms, partition: 0), offset: 1)] == stamped)
        }
    }

    @Test func partitionWithoutCommittedOffsetIsReportedAsSuch() async throws {
        try await LagFixture.with { fixture in
            try await fixture.produce(8, partition: 0)
            try await fixture.produce(6, partition: 3)
            try await fixture.commit(group: "g-partial", [0: 5])
            var history = LagHistory(rules: rules)
            let report = history.record(await fixture.sampler().sample(groups: ["g-partial"]))
            let group = try report.group("g-partial")
            #expect(group.partitions.map(\.partition) == [0, 1, 2, 3], "every partition of the topic it commits to")
            let uncommitted = try group.partition(3)
            #expect(uncommitted.committedOffset == nil && uncommitted.lag == nil && uncommitted.status == nil)
            #expect(uncommitted.reason == "no committed offset")
            #expect(uncommitted.logEndOffset == 6)
            #expect(group.totalLag == 3 && group.maxLag == 3, "only the committed partition counts")
            let metrics = LagPrometheusRenderer.render(report)
            #expect(metrics.contains("kafka_consumergroup_group_lag{group=\"g-partial\",topic=\"chat.rooms\",partition=\"0\"} 3"))
            #expect(!metrics.contains("group=\"g-partial\",topic=\"chat.rooms\",partition=\"3\""))
            #expect(metrics.contains("kafka_partition_latest_offset{topic=\"chat.rooms\",partition=\"3\"} 6"))
            #expect(LagTableRenderer.render(report).contains("none"))
        }
    }

    @Test func unreadableGroupOffsetsAreERR() async throws {
        try await LagFixture.with { fixture in
            try await fixture.produce(4, partition: 0)
            try await fixture.commit(group: "g-err", [0: 4])
            let sampler = fixture.sampler()
            var history = LagHistory(rules: rules)
            _ = history.record(await sampler.sample(groups: ["g-err"]))
            // Every OffsetFetch fails: the group is ERR, on every partition it was seen on.
            fixture.cluster.pushRequestErrors(api: .offsetFetch, errors: Array(repeating: KafkaErrorCode(rawValue: 15), count: 50))
            let report = history.record(await sampler.sample(groups: ["g-err"]))
            let group = try report.group("g-err")
            #expect(group.status == .err)
            #expect(group.error != nil)
            #expect(try group.partition(0).status == .err)
        }
    }

    @Test func groupsAreDiscoveredFromGatewayHeartbeatsWhereTheBrokersCannotListThem() async throws {
        try await LagFixture.with { fixture in
            for (node, value) in [
                ("gw-a", #"{"type":"node","node":"gw-a","ts":1,"status":"up"}"#), ("gw-b", #"{"type":"node","node":"gw-b","ts":1,"status":"down"}"#),
            ] {
                _ = try await fixture.producer.send(
                    KafkaProducerRecord(topic: ChatTopics.presence, partition: 1, key: Array("node:\(node)".utf8), value: Array(value.utf8)))
            }
            _ = try await fixture.producer.send(
                KafkaProducerRecord(topic: ChatTopics.presence, partition: 2, key: Array("alice".utf8), value: Array(#"{"type":"user"}"#.utf8)))
            _ = try await fixture.producer.send(
                KafkaProducerRecord(topic: ChatTopics.presence, partition: 1, key: Array("node:gw-c".utf8), value: []))
            let discovery = ConsumerGroupDiscovery(
                admin: fixture.admin, configuration: fixture.configuration, timeout: .seconds(5), logger: quietLogger())
            let found = try await discovery.discover()
            #expect(found.groups == ["chat-compactor", "chat-fanout-gw-a", "chat-fanout-gw-b"])
            #expect(found.source.contains("cannot list groups"))

            try await fixture.produce(3, partition: 0)
            try await fixture.commit(group: "chat-fanout-gw-a", [0: 1])
            let monitor = LagMonitor(sampler: fixture.sampler(), discovery: discovery, groups: [], rules: rules, logger: quietLogger())
            let report = await monitor.sample()
            #expect(report.groups.map(\.group) == ["chat-compactor", "chat-fanout-gw-a", "chat-fanout-gw-b"])
            #expect(try report.group("chat-fanout-gw-a").partition(0).lag == 2)
            #expect(try report.group("chat-compactor").partitions.isEmpty)
        }
    }
}
