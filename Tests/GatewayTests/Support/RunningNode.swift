import ChatDomain
import ChatGateway
import ChatProvisioning
import ChatServer
import ChatTestSupport
import Foundation
import Kafka
import Logging
import ServiceLifecycle
import Testing

let testSecret = "gateway-tests-secret-of-at-least-32-bytes"

/// Signs tokens the test nodes accept.
func token(_ user: String, rooms: [String]? = nil, admin: Bool = false, lifetime: TimeInterval = 3600) async throws -> String {
    let authority = try await TokenAuthority(mode: .sharedSecret(testSecret))
    return try await authority.issue(user: user, rooms: rooms, admin: admin, lifetime: lifetime)
}

/// The nodes' and clients' logger: errors only, unless CHAT_TEST_LOG_LEVEL asks for more.
func testLogger(_ label: String) -> Logger { quietLogger(label, level: .error) }

/// An embedded cluster with the chat topics, shared by the nodes of one test.
final class TestCluster: Sendable {
    let cluster: EmbeddedKafkaCluster

    init(partitions: Int = 8) throws {
        cluster = try EmbeddedKafkaCluster(brokers: 3, logger: testLogger("test.kafka"))
        try ChatTopicLayout(partitions: partitions).create(on: cluster)
    }

    var bootstrap: String { cluster.bootstrapServers }

    func shutdown() async { await cluster.shutdown() }
}

/// A gateway node running in this test process.
final class RunningNode: Sendable {
    let node: ChatNode
    let port: Int
    let group: ServiceGroup
    let task: Task<Void, any Error>

    private init(node: ChatNode, port: Int, group: ServiceGroup, task: Task<Void, any Error>) {
        self.node = node
        self.port = port
        self.group = group
        self.task = task
    }

    static func start(
        cluster: TestCluster, nodeID: String = "node-\(UUID().uuidString.prefix(8))",
        configure: (inout ChatNodeConfiguration) -> Void = { _ in }
    ) async throws -> RunningNode {
        var gateway = GatewayConfiguration(nodeID: nodeID)
        gateway.port = 0
        gateway.host = "127.0.0.1"
        var configuration = ChatNodeConfiguration(gateway: gateway)
        configuration.brokers = cluster.bootstrap
        configuration.consumerProperties["fetch.wait.max.ms"] = "2"
        configuration.authentication = .sharedSecret(testSecret)
        configure(&configuration)
        let node = try await ChatNode.build(configuration: configuration, logger: testLogger("test.\(nodeID)"))
        let group = ServiceGroup(configuration: .init(services: [.init(service: node)], logger: testLogger("test.group")))
        let task = Task { try await group.run() }
        let port = await node.boundPort()
        return RunningNode(node: node, port: port, group: group, task: task)
    }

    /// Graceful shutdown, as on SIGTERM.
    func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
    }
}

/// Runs `body` with a cluster and `count` nodes on it, and stops them all afterwards.
func withNodes<Result>(
    _ count: Int = 1, partitions: Int = 8, configure: @escaping (inout ChatNodeConfiguration) -> Void = { _ in },
    _ body: (TestCluster, [RunningNode]) async throws -> Result
) async throws -> Result {
    let cluster = try TestCluster(partitions: partitions)
    var nodes: [RunningNode] = []
    do {
        for index in 0..<count { nodes.append(try await RunningNode.start(cluster: cluster, nodeID: "node\(index + 1)", configure: configure)) }
        let result = try await body(cluster, nodes)
        for node in nodes { await node.stop() }
        await cluster.shutdown()
        return result
    } catch {
        for node in nodes { await node.stop() }
        await cluster.shutdown()
        throw error
    }
}
