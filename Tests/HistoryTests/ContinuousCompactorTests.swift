import ChatCompactor
import ChatDomain
import ChatHistory
import ChatTestSupport
import Kafka
import Metrics
import ServiceLifecycle
import Testing

@Suite("Continuous compactor", .timeLimit(.minutes(2)))
struct ContinuousCompactorTests {
    static let span: Int64 = 25

    @Test("The group member follows the log, commits only what its manifests cover, and a restart resumes from the manifest")
    func followsTheLog() async throws {
        try await withChatCluster(partitions: 2) { fixture, root in
            let first = [RandomChatLog(seed: 11, count: 400), RandomChatLog(seed: 12, count: 300)]
            for (partition, log) in first.enumerated() {
                try await fixture.produce((0..<log.events.count).map(log.value(at:)), partition: Int32(partition))
            }
            var configuration = fixture.compactorConfiguration(root: root, span: Self.span)
            configuration.policy.maxPendingAge = .milliseconds(200)
            configuration.policy.maxPendingRecords = 120
            configuration.policy.mergeFanIn = 3
            // The embedded cluster keeps a departed member in the group until its session times
            // out; a short session keeps the restart below quick.
            configuration.kafka["session.timeout.ms"] = "6000"
            configuration.kafka["heartbeat.interval.ms"] = "500"
            let epoch = try await fixture.epoch()
            let directory = SnapshotDirectory(root: root, epoch: epoch)

            try await runCompactor(configuration, fixture: fixture, epoch: epoch, until: [0: 400, 1: 300], directory: directory)
            let committed = try await fixture.admin.committedOffsets(group: "chat-compactor", topic: ChatTopics.rooms, partitions: [0, 1])
            #expect(committed == [0: 400, 1: 300])

            // Records produced while no compactor runs are folded by the next one, from the manifest on.
            let more = RandomChatLog(seed: 13, count: 150)
            try await fixture.produce((0..<more.events.count).map(more.value(at:)), partition: 0)
            try await runCompactor(configuration, fixture: fixture, epoch: epoch, until: [0: 550, 1: 300], directory: directory)

            let history = try await fixture.history(root: root, span: Self.span)
            let logs = [RandomChatLog(events: first[0].events + more.events, rooms: first[0].rooms), first[1]]
            for (partition, log) in logs.enumerated() {
                for room in log.rooms {
                    let messages = try await fixture.fullHistory(history, room: room, partition: Int32(partition))
                    #expect(messages == log.oracle(room: room, span: Self.span), "partition \(partition) room \(room)")
                }
                let manifest = try #require(try directory.manifest(Int32(partition)))
                #expect(manifest.segments.count < 10, "segments merge as they accumulate (\(manifest.segments.map(\.level)))")
            }
        }
    }

    /// Runs a compactor until every partition's manifest covers `until`, then shuts it down gracefully.
    private func runCompactor(
        _ configuration: CompactorConfiguration, fixture: ChatClusterFixture, epoch: LogEpoch, until: [Int32: Int64],
        directory: SnapshotDirectory
    ) async throws {
        let compactor = try Compactor(
            configuration: configuration, admin: fixture.admin, epoch: epoch, metricsFactory: NOOPMetricsHandler.instance,
            logger: quietLogger("test.compactor"))
        let group = ServiceGroup(configuration: .init(services: [.init(service: compactor)], logger: quietLogger("test.group")))
        let running = Task { try await group.run() }
        let deadline = ContinuousClock.now + .seconds(60)
        var covered: [Int32: Int64] = [:]
        while ContinuousClock.now < deadline {
            covered = [:]
            for partition in until.keys { covered[partition] = try directory.manifest(partition)?.coveredEnd }
            if covered == until { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(covered == until, "manifests cover \(covered)")
    }
}
