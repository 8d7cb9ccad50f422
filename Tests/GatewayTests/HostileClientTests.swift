import ChatTestSupport
import Foundation
import Synchronization
import Testing

/// Hostile clients against two `chatd` processes on one Kafka cluster: a stateful fuzzer learns
/// real epochs, partitions, offsets, msgIds and room names from replies and bends them (integer
/// edges of every width, floats, NaN-like strings, other users' msgIds, mutated cursors, long and
/// unicode strings, wrong types, deep nesting, duplicate keys), while valid users keep chatting.
///
/// Replay a failure with `CHAT_HOSTILE_SEED=<seed>` (the seed is in every failure message).
@Suite("Hostile clients", .timeLimit(.minutes(5)))
struct HostileClientTests {
    static let seed: UInt64 = ProcessInfo.processInfo.environment["CHAT_HOSTILE_SEED"].flatMap { UInt64($0) } ?? 0x4057_11E5
    /// Hostile sessions in all, the first `warmUp` of them before the memory baseline.
    static let sessions = 200
    static let warmUp = 24
    /// Sessions running at once (half on each node).
    static let workers = 4
    /// The hostile phase ends after this long even if fewer sessions ran.
    static let timeBudget: Duration = .seconds(60)
    /// Allowed RSS growth of each node from the warmed-up baseline to the end, after every hostile
    /// session has gone. Measured on the debug build (2 cores): about 4 MiB over the 176 sessions
    /// after warm-up (the allocator keeps freed pages, room caches fill towards their bound); six
    /// times that leaves room for a slower, noisier machine, while keeping what each session held
    /// (its requests, subscriptions, up to 64 KiB frames) would exceed it.
    static let rssGrowthBoundMiB = 24

    @Test("Stateful hostile sessions over two nodes: nodes live, every request answered, valid traffic intact, memory bounded")
    func hostileSessionsOverTwoNodes() async throws {
        let seed = Self.seed
        let (kafka, brokers) = try await ChildProcess.kafka(partitions: 4)
        defer { kafka.stop() }
        let first = try await ChildProcess.chatd(brokers: brokers, nodeID: "hostile-node0")
        defer { first.0.stop() }
        let second = try await ChildProcess.chatd(brokers: brokers, nodeID: "hostile-node1")
        defer { second.0.stop() }
        let nodes: [(process: ChildProcess, port: Int)] = [first, second]
        let learned = LearnedValues()
        let log = SentLog()
        let valid = try await ValidTraffic.start(ports: nodes.map(\.port), learned: learned)
        let sending = Task { await valid.run() }

        let state = RunState()
        let started = ContinuousClock.now
        let plan = HostileMutator.systematicPlan
        let perSession = 8

        /// Runs sessions `range` on `workers` workers; stops early when a node dies or time runs out.
        func phase(_ range: Range<Int>) async {
            await withTaskGroup(of: Void.self) { group in
                for worker in 0..<Self.workers {
                    group.addTask {
                        for number in range where number % Self.workers == worker {
                            guard state.dead.withLock({ $0.isEmpty }), ContinuousClock.now - started < Self.timeBudget else { return }
                            let node = number % 2
                            let slice = plan.dropFirst(number * perSession).prefix(perSession)
                            var session = HostileSession(
                                number: number, node: node, port: nodes[node].port, seed: seed &+ UInt64(number) &* 0x9E37_79B9,
                                learned: learned, log: log, systematic: Array(slice))
                            let problems = await session.run()
                            state.completed.withLock { $0 += 1 }
                            for (index, node) in nodes.enumerated() where !node.process.isRunning {
                                let isNew = state.dead.withLock { $0.insert(index).inserted }
                                if isNew {
                                    state.failures.withLock {
                                        $0.append(
                                            "seed \(seed): node \(index) died during session \(number); last frames sent to it:\n  "
                                                + log.last(node: index).suffix(12).joined(separator: "\n  ") + "\nwhat it printed:\n  "
                                                + node.process.lines(containing: ["Fatal error", "Program crashed", "Sources/Chat"], limit: 6)
                                                .joined(separator: "\n  "))
                                    }
                                }
                            }
                            if state.dead.withLock({ $0.isEmpty }) { state.failures.withLock { $0 += problems.map { "seed \(seed): \($0)" } } }
                        }
                    }
                }
            }
        }

        await phase(0..<Self.warmUp)
        try await Task.sleep(for: .seconds(1))
        let baseline = nodes.map { $0.process.residentKiB ?? 0 }
        await phase(Self.warmUp..<Self.sessions)
        let elapsed = ContinuousClock.now - started
        try await Task.sleep(for: .seconds(2))
        let final = nodes.map { $0.process.residentKiB ?? 0 }
        valid.stop()
        await sending.value

        for failure in state.failures.withLock({ $0 }) { Issue.record(Comment(rawValue: failure)) }
        if !state.failures.withLock({ $0.isEmpty }) {
            for (index, node) in nodes.enumerated() {
                print(
                    "node \(index) warnings:\n  "
                        + node.process.lines(containing: ["warning", "error", "critical"], limit: 20).joined(separator: "\n  "))
            }
        }
        #expect(state.dead.withLock { $0.isEmpty }, "seed \(seed): no node may die")
        guard state.dead.withLock({ $0.isEmpty }) else { return }
        for failure in await valid.verify() { Issue.record("seed \(seed): valid traffic: \(failure)") }
        let completed = state.completed.withLock { $0 }
        print("hostile clients: seed \(seed), \(completed) sessions in \(elapsed); RSS KiB after warm-up \(baseline), at the end \(final)")
        for index in nodes.indices {
            #expect(baseline[index] > 0 && final[index] > 0, "node \(index)'s RSS could not be read")
            let growthMiB = (final[index] - baseline[index]) / 1024
            #expect(
                growthMiB < Self.rssGrowthBoundMiB,
                "seed \(seed): node \(index) grew \(growthMiB) MiB over \(completed - Self.warmUp) hostile sessions")
        }
        for client in valid.clients { await client.close() }
    }
}

/// What the hostile workers share.
private final class RunState: Sendable {
    let failures = Mutex<[String]>([])
    let dead = Mutex<Set<Int>>([])
    let completed = Mutex(0)
}
