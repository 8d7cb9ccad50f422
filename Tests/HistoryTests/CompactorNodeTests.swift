import ChatCompactor
import ChatDomain
import ChatHistory
import ChatTestSupport
import HummingbirdTesting
import NIOCore
import ServiceLifecycle
import Testing

@Suite("chatd --role compactor", .timeLimit(.minutes(2)))
struct CompactorNodeTests {
    @Test("The compactor role folds the log and serves /healthz, /readyz and its metrics")
    func compactorNode() async throws {
        try await withChatCluster(partitions: 2) { fixture, root in
            let log = RandomChatLog(seed: 3, count: 200)
            try await fixture.produce((0..<log.events.count).map(log.value(at:)), partition: 1)
            var configuration = fixture.compactorConfiguration(root: root, span: 10_000)
            configuration.policy.maxPendingAge = .milliseconds(100)
            let node = try await CompactorNode(
                configuration: configuration, kafka: fixture.kafka, host: "127.0.0.1", port: 0, logger: quietLogger("test.compactor"))
            let group = ServiceGroup(configuration: .init(services: [.init(service: node)], logger: quietLogger("test.group")))
            let running = Task { try await group.run() }
            let port = try await node.boundPort()
            let directory = SnapshotDirectory(root: root, epoch: try await fixture.epoch())
            let deadline = ContinuousClock.now + .seconds(30)
            while try directory.manifest(1)?.coveredEnd != 200, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(try directory.manifest(1)?.coveredEnd == 200)
            #expect(try await get(port, "/healthz").0 == 200)
            let ready = try await get(port, "/readyz")
            #expect(ready.0 == 200 && ready.1.contains("\"ready\":true"), "\(ready)")
            let metrics = try await get(port, "/metrics").1
            #expect(metrics.contains("chat_compactor_records_total 200"), "\(metrics)")
            #expect(metrics.contains("chat_compactor_covered_offset{partition=\"1\"} 200"), "\(metrics)")
            await group.triggerGracefulShutdown()
            _ = try await running.value
        }
    }

    private func get(_ port: Int, _ path: String) async throws -> (Int, String) {
        try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            let response = try await client.execute(TestClient.Request(path, method: .get, authority: "127.0.0.1:\(port)", headers: [:], body: nil))
            return (Int(response.status.code), response.body.map { String(buffer: $0) } ?? "")
        }
    }
}
