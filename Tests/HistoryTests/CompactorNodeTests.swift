import ChatCompactor
import ChatDomain
import ChatGateway
import ChatHistory
import ChatServer
import ChatTestSupport
import HummingbirdTesting
import NIOCore
import ServiceLifecycle
import Testing

/// The roles of a chat process, built by ChatServer from one configuration: each serves the
/// operational routes once, over the metrics of every part it runs.
@Suite("chatd roles", .timeLimit(.minutes(2)))
struct CompactorNodeTests {
    static let secret = "compactor-node-tests-secret-of-32-bytes!"

    @Test("The compactor role folds the log and serves /healthz, /readyz and its metrics")
    func compactorNode() async throws {
        try await withChatCluster(partitions: 2) { fixture, root in
            let log = RandomChatLog(seed: 3, count: 200)
            try await fixture.produce((0..<log.events.count).map(log.value(at:)), partition: 1)
            let node = try await ChatNode.build(
                configuration: configuration(fixture, root: root, role: .compactor), logger: quietLogger("test.compactor"))
            #expect(node.role == .compactor)
            try await running(node) { port in
                try await waitForCoverage(root: root, epoch: node.epoch, partition: 1, end: 200)
                #expect(try await get(port, "/healthz").0 == 200)
                let ready = try await get(port, "/readyz")
                #expect(ready.0 == 200 && ready.1 == "{\"ready\":true,\"kafka\":\"reachable\"}", "\(ready)")
                let metrics = try await get(port, "/metrics").1
                #expect(metrics.contains("chat_compactor_records_total 200"), "\(metrics)")
                #expect(metrics.contains("chat_compactor_covered_offset{partition=\"1\"} 200"), "\(metrics)")
                #expect(!metrics.contains("chat_sessions"), "a compactor runs no gateway: \(metrics)")
                // No gateway route on a compactor.
                #expect(try await get(port, "/v1/ws").0 == 404)
            }
        }
    }

    @Test("Gateway and compactor in one process share one /healthz, /readyz and /metrics")
    func combinedRoles() async throws {
        try await withChatCluster(partitions: 2) { fixture, root in
            let log = RandomChatLog(seed: 5, count: 120)
            try await fixture.produce((0..<log.events.count).map(log.value(at:)), partition: 0)
            let node = try await ChatNode.build(configuration: configuration(fixture, root: root, role: .all), logger: quietLogger("test.all"))
            try await running(node) { port in
                try await waitForCoverage(root: root, epoch: node.epoch, partition: 0, end: 120)
                #expect(try await get(port, "/healthz") == (200, "ok\n"))
                let ready = try await get(port, "/readyz")
                #expect(ready.0 == 200 && ready.1.contains("\"fanoutLagLimit\":"), "the gateway's readiness: \(ready)")
                let metrics = try await get(port, "/metrics").1
                #expect(metrics.contains("chat_compactor_records_total 120"), "\(metrics)")
                #expect(metrics.contains("chat_sessions"), "\(metrics)")
                #expect(metrics.components(separatedBy: "# TYPE chat_sessions ").count == 2, "each metric once: \(metrics)")
                // The gateway's own routes are there too.
                #expect(try await get(port, "/v1/ws").0 == 401)
            }
        }
    }

    @Test("The gateway role runs no compactor")
    func gatewayOnly() async throws {
        try await withChatCluster(partitions: 2) { fixture, root in
            let node = try await ChatNode.build(
                configuration: configuration(fixture, root: root, role: .gateway), logger: quietLogger("test.gateway"))
            try await running(node) { port in
                let metrics = try await get(port, "/metrics").1
                #expect(metrics.contains("chat_sessions"), "\(metrics)")
                #expect(!metrics.contains("chat_compactor_records_total"), "\(metrics)")
            }
        }
    }

    @Test("The compactor role refuses to start without brokers")
    func compactorNeedsBrokers() async throws {
        var configuration = ChatNodeConfiguration(gateway: GatewayConfiguration(nodeID: "no-brokers"))
        configuration.role = .compactor
        configuration.snapshotDirectory = "/nonexistent"
        await #expect(throws: ChatNodeStartupError.self) {
            _ = try await ChatNode.build(configuration: configuration, logger: quietLogger("test.refused"))
        }
    }

    private func configuration(_ fixture: ChatClusterFixture, root: String, role: ChatNodeRole) -> ChatNodeConfiguration {
        var gateway = GatewayConfiguration(nodeID: "roles-\(role)")
        gateway.port = 0
        gateway.host = "127.0.0.1"
        var configuration = ChatNodeConfiguration(gateway: gateway)
        configuration.brokers = fixture.cluster.bootstrapServers
        configuration.consumerProperties["fetch.wait.max.ms"] = "2"
        configuration.authentication = .sharedSecret(Self.secret)
        configuration.snapshotDirectory = root
        configuration.role = role
        configuration.compactionPolicy.maxPendingAge = .milliseconds(100)
        return configuration
    }

    private func running(_ node: ChatNode, _ body: (Int) async throws -> Void) async throws {
        let group = ServiceGroup(configuration: .init(services: [.init(service: node)], logger: quietLogger("test.group")))
        let running = Task { try await group.run() }
        do {
            try await body(await node.boundPort())
        } catch {
            await group.triggerGracefulShutdown()
            _ = await running.result
            throw error
        }
        await group.triggerGracefulShutdown()
        _ = try await running.value
    }

    private func waitForCoverage(root: String, epoch: LogEpoch, partition: Int32, end: Int64) async throws {
        let directory = SnapshotDirectory(root: root, epoch: epoch)
        let deadline = ContinuousClock.now + .seconds(30)
        while try directory.manifest(partition)?.coveredEnd != end, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(try directory.manifest(partition)?.coveredEnd == end)
    }

    private func get(_ port: Int, _ path: String) async throws -> (Int, String) {
        try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            let response = try await client.execute(TestClient.Request(path, method: .get, authority: "127.0.0.1:\(port)", headers: [:], body: nil))
            return (Int(response.status.code), response.body.map { String(buffer: $0) } ?? "")
        }
    }
}
