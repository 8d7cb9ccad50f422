import ChatLag
import Kafka
import Testing

/// The history state machine on synthetic snapshots: what it reports, not how offsets are read.
@Suite struct LagHistoryTests {
    let rooms0 = KafkaTopicPartitionKey(topic: "chat.rooms", partition: 0)
    let rooms1 = KafkaTopicPartitionKey(topic: "chat.rooms", partition: 1)
    let cursors0 = KafkaTopicPartitionKey(topic: "chat.cursors", partition: 0)

    func snapshot(_ time: Int64, end: Int64, groups: [String: GroupOffsets], timestamps: [PartitionOffset: Int64] = [:]) -> LagSnapshot {
        LagSnapshot(
            time: time,
            partitions: [
                rooms0: .offsets(logStart: 0, logEnd: end), rooms1: .offsets(logStart: 0, logEnd: end), cursors0: .offsets(logStart: 0, logEnd: 3),
            ],
            groups: groups, recordTimestamps: timestamps)
    }

    @Test func reportsEveryPartitionOfTheTopicsAGroupCommittedTo() throws {
        var history = LagHistory(rules: LagRules(windowSize: 3, minimumSamples: 2))
        let report = history.record(snapshot(1000, end: 10, groups: ["g": .committed([rooms0: 4])]))
        let group = try report.group("g")
        #expect(group.partitions.map(\.partition) == [0, 1], "chat.rooms only: nothing committed on chat.cursors")
        #expect(group.totalLag == 6 && group.maxLag == 6)
        #expect(try group.partition(1).committedOffset == nil)
        #expect(report.partitions.count == 3, "log offsets of every sampled partition")
    }

    @Test func lagSecondsComesFromTheRecordAtTheCommittedOffset() throws {
        var history = LagHistory()
        let timestamps: [PartitionOffset: Int64] = [PartitionOffset(partition: rooms0, offset: 4): 1_000_000]
        let report = history.record(snapshot(1_012_500, end: 10, groups: ["g": .committed([rooms0: 4, rooms1: 10])], timestamps: timestamps))
        #expect(try report.group("g").partition(0).lagSeconds == 12.5)
        #expect(try report.group("g").partition(1).lagSeconds == 0, "caught up: zero, without reading anything")
        #expect(try report.group("g").maxLagSeconds == 12.5)
    }

    @Test func aStoppedGroupTurnsERRAndRecovers() throws {
        var history = LagHistory(rules: LagRules(windowSize: 3, minimumSamples: 3))
        var report = history.record(snapshot(0, end: 5, groups: ["g": .committed([rooms0: 5])]))
        for step in 1...3 { report = history.record(snapshot(Int64(step) * 1000, end: 5 + Int64(step) * 10, groups: ["g": .committed([rooms0: 5])])) }
        #expect(try report.group("g").partition(0).status == .stop)
        #expect(try report.group("g").status == .err)
        report = history.record(snapshot(4000, end: 35, groups: ["g": .committed([rooms0: 35])]))
        #expect(try report.group("g").status == .ok)
    }

    @Test func unreadableGroupIsERROnThePartitionsSeenBefore() throws {
        var history = LagHistory()
        _ = history.record(snapshot(0, end: 5, groups: ["g": .committed([rooms0: 5])]))
        let report = history.record(snapshot(1000, end: 5, groups: ["g": .error("coordinator not available")]))
        let group = try report.group("g")
        #expect(group.status == .err && group.error == "coordinator not available")
        #expect(group.partitions.allSatisfy { $0.status == .err })
        // A group never read before: ERR, with nothing to show per partition.
        var fresh = LagHistory()
        let first = try fresh.record(snapshot(0, end: 5, groups: ["h": .error("timed out")])).group("h")
        #expect(first.status == .err && first.partitions.isEmpty)
    }

    @Test func unreachableClusterMakesEveryKnownPartitionERR() throws {
        var history = LagHistory()
        _ = history.record(snapshot(0, end: 5, groups: ["g": .committed([rooms0: 5])]))
        let report = history.record(LagSnapshot(time: 1000, clusterError: "all brokers down"))
        #expect(report.error == "all brokers down")
        #expect(try report.group("g").partitions.allSatisfy { $0.status == .err && $0.lag == nil })
        #expect(report.partitions.isEmpty)
        #expect(LagPrometheusRenderer.render(report).contains("chat_lag_exporter_up 0"))
    }

    @Test func groupsNoLongerSampledAreForgotten() {
        var history = LagHistory()
        _ = history.record(snapshot(0, end: 5, groups: ["g": .committed([rooms0: 5]), "old": .committed([rooms0: 1])]))
        let report = history.record(snapshot(1000, end: 5, groups: ["g": .committed([rooms0: 5])]))
        #expect(report.groups.map(\.group) == ["g"])
    }

    @Test func labelValuesAreEscaped() {
        var history = LagHistory()
        let report = history.record(snapshot(0, end: 5, groups: ["a\"b\\c": .committed([rooms0: 1])]))
        #expect(LagPrometheusRenderer.render(report).contains(#"kafka_consumergroup_group_lag{group="a\"b\\c",topic="chat.rooms",partition="0"} 4"#))
    }
}
