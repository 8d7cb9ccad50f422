import ChatGateway
import ChatServer
import ChatTestSupport
import ServiceLifecycle

/// A chat node with its own compactor (role `all`) on a fixture's cluster and snapshot directory,
/// running in this test process.
struct CompactingNode {
    let node: ChatNode
    let configuration: ChatNodeConfiguration
    let port: Int
    let group: ServiceGroup
    let running: Task<Void, any Error>

    static func start(_ fixture: ChatClusterFixture, root: String, nodeID: String, secret: String) async throws -> CompactingNode {
        var gateway = GatewayConfiguration(nodeID: nodeID)
        gateway.port = 0
        gateway.host = "127.0.0.1"
        var configuration = ChatNodeConfiguration(gateway: gateway)
        configuration.brokers = fixture.cluster.bootstrapServers
        configuration.consumerProperties["fetch.wait.max.ms"] = "2"
        configuration.authentication = .sharedSecret(secret)
        configuration.snapshotDirectory = root
        configuration.role = .all
        let node = try await ChatNode.build(configuration: configuration, logger: quietLogger("test.node"))
        let group = ServiceGroup(configuration: .init(services: [.init(service: node)], logger: quietLogger("test.group")))
        let running = Task { try await group.run() }
        return CompactingNode(node: node, configuration: configuration, port: await node.boundPort(), group: group, running: running)
    }

    /// Graceful shutdown, as on SIGTERM.
    func stop() async {
        await group.triggerGracefulShutdown()
        _ = await running.result
    }
}
