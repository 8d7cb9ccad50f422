import ChatCompactor
import ChatDomain
import ChatHistory
import ChatTestSupport
import Foundation
import Synchronization
import Testing

@Suite("Compactor crashes", .timeLimit(.minutes(2)))
struct CompactorCrashTests {
    static let span: Int64 = 25

    @Test("A compactor killed at any point leaves the previous manifest valid; the next run converges", arguments: CrashPoint.allCases)
    func crashAndConverge(point: CrashPoint) async throws {
        try await withChatCluster(partitions: 1) { fixture, root in
            let log = RandomChatLog(seed: 42, count: 600)
            let offsets = try await fixture.produce((0..<log.events.count).map(log.value(at:)))
            #expect(offsets == (0..<Int64(log.events.count)).map { $0 })
            var configuration = fixture.compactorConfiguration(root: root, span: Self.span)
            configuration.policy.maxPendingRecords = 40
            configuration.policy.mergeFanIn = 3
            // Crash at the third time the point is reached, so earlier manifests exist.
            let hits = Mutex(0)
            configuration.crashHook = { reached, _ in
                guard reached == point else { return }
                let count = hits.withLock { count in
                    count += 1
                    return count
                }
                if count == 3 { throw InjectedCrash(point: point) }
            }
            let epoch = try await fixture.epoch()
            let directory = SnapshotDirectory(root: root, epoch: epoch)
            await #expect(throws: InjectedCrash(point: point)) {
                _ = try await CompactionPass(configuration: configuration, admin: fixture.admin, logger: quietLogger("test.compactor")).run()
            }
            // What the crash left: a manifest whose every segment verifies.
            let crashed = try #require(try directory.manifest(0), "two manifests were written before the crash")
            for segment in crashed.segments {
                _ = try SegmentReader.open(path: directory.segmentPath(0, file: segment.file), descriptor: segment, partition: 0, epoch: epoch)
            }
            configuration.crashHook = nil
            let summary = try await CompactionPass(configuration: configuration, admin: fixture.admin, logger: quietLogger("test.compactor")).run()
            #expect(summary.coverage[0] == Int64(log.events.count))
            try await expectConverged(fixture: fixture, root: root, log: log, directory: directory)

            // More records after recovery: the next pass continues from the manifest.
            let more = RandomChatLog(seed: 43, count: 150)
            let combined = RandomChatLog(events: log.events + more.events, rooms: log.rooms)
            try await fixture.produce((0..<more.events.count).map(more.value(at:)))
            _ = try await CompactionPass(configuration: configuration, admin: fixture.admin, logger: quietLogger("test.compactor")).run()
            try await expectConverged(fixture: fixture, root: root, log: combined, directory: directory)
            let committed = try await fixture.admin.committedOffsets(group: "chat-compactor", topic: ChatTopics.rooms, partitions: [0])
            #expect(committed[0] == Int64(combined.events.count), "offsets committed up to what the manifest covers")
        }
    }

    @Test("A pass with no crash and one with crashes end with the same history and no stray files")
    func crashedRunEqualsCleanRun() async throws {
        try await withChatCluster(partitions: 1) { fixture, root in
            let log = RandomChatLog(seed: 7, count: 500)
            try await fixture.produce((0..<log.events.count).map(log.value(at:)))
            var configuration = fixture.compactorConfiguration(root: root, span: Self.span)
            configuration.policy.maxPendingRecords = 33
            configuration.policy.mergeFanIn = 2
            let epoch = try await fixture.epoch()
            let directory = SnapshotDirectory(root: root, epoch: epoch)
            // Crash at every point in turn, restarting after each, until a pass completes.
            var attempts = 0
            var crashes = 0
            while true {
                attempts += 1
                let target = CrashPoint.allCases[attempts % CrashPoint.allCases.count]
                let seen = Mutex(0)
                let crashAt = attempts
                configuration.crashHook = { reached, _ in
                    guard reached == target else { return }
                    if seen.withLock({ count in
                        count += 1
                        return count
                    }) == crashAt {
                        throw InjectedCrash(point: target)
                    }
                }
                do {
                    _ = try await CompactionPass(configuration: configuration, admin: fixture.admin, logger: quietLogger("test.compactor")).run()
                    break
                } catch is InjectedCrash {
                    crashes += 1
                }
                #expect(attempts < 40)
                if attempts >= 40 { break }
            }
            #expect(crashes >= 3)
            try await expectConverged(fixture: fixture, root: root, log: log, directory: directory)
        }
    }

    private func expectConverged(fixture: ChatClusterFixture, root: String, log: RandomChatLog, directory: SnapshotDirectory) async throws {
        let history = try await fixture.history(root: root, span: Self.span)
        for room in log.rooms {
            let messages = try await fixture.fullHistory(history, room: room, partition: 0)
            #expect(messages == log.oracle(room: room, span: Self.span), "room \(room)")
        }
        let manifest = try #require(try directory.manifest(0))
        #expect(manifest.coveredEnd == Int64(log.events.count))
        let listed = Set(manifest.segments.map(\.file))
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.partitionDirectory(0)).filter {
            $0.hasPrefix("seg-") || $0.hasSuffix(".tmp")
        }
        #expect(Set(files) == listed, "no file outside the manifest is left behind")
    }
}
