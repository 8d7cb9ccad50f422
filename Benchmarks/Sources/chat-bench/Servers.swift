import AsyncOneShot
import ChatGateway
import ChatServer
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import ServiceLifecycle
import Synchronization

let benchSecret = "chat-bench-shared-secret-of-at-least-32-bytes"

/// The gateway under test, in this process, on its own embedded cluster.
struct InProcessNode {
    let node: ChatNode
    let port: Int
    let group: ServiceGroup
    let task: Task<Void, any Error>

    /// - Parameter kafkaProperties: librdkafka properties for the node's clients (tuning experiments).
    static func start(kafkaProperties: [String: String] = [:]) async throws -> InProcessNode {
        var gateway = GatewayConfiguration(nodeID: "bench")
        gateway.port = 0
        gateway.host = "0.0.0.0"
        // The bench's senders go far past a person's rate; the limiter would measure itself.
        gateway.requestRate = 1_000_000
        gateway.requestBurst = 1_000_000
        // Every bench client is on loopback, and the connections scenario is one user.
        gateway.maxConnectionsPerIP = 1_000_000
        gateway.maxSessionsPerUser = 1_000_000
        var configuration = ChatNodeConfiguration(gateway: gateway)
        configuration.authentication = .sharedSecret(benchSecret)
        configuration.kafkaProperties = kafkaProperties
        var logger = Logger(label: "chat-bench.node")
        logger.logLevel = .error
        let node = try await ChatNode.build(configuration: configuration, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: node)], logger: logger))
        let task = Task { try await group.run() }
        return InProcessNode(node: node, port: await node.boundPort(), group: group, task: task)
    }

    func stop() async {
        await group.triggerGracefulShutdown()
        _ = await task.result
    }
}

/// Signs the tokens the gateway under test accepts.
struct TokenSource: Sendable {
    let authority: TokenAuthority

    init() async throws { authority = try await TokenAuthority(mode: .sharedSecret(benchSecret)) }

    func token(_ user: String) async throws -> String { try await authority.issue(user: user, lifetime: 3600) }
}

/// The WebSocket path's limit: a minimal broadcast server speaking the subset of the protocol the
/// bench uses (`join` → `joined`, `send` → `ack` + `message` to every member), with no Kafka, no
/// auth, no ordering or durability. Same client, same scenario.
final class BroadcastBaseline: Sendable {
    private let rooms = Mutex<[String: [Int: WebSocketOutboundWriter]]>([:])
    private let nextID = Atomic<Int>(0)

    func start() async throws -> (port: Int, task: Task<Void, any Error>) {
        let router = Router(context: BasicWebSocketRequestContext.self)
        router.ws("/v1/ws") { inbound, outbound, _ in
            try await self.serve(inbound: inbound, outbound: outbound)
        }
        let port = OneShot<Int>()
        var logger = Logger(label: "chat-bench.baseline")
        logger.logLevel = .error
        let application = Application(
            router: Router(context: BasicWebSocketRequestContext.self),
            server: .http1WebSocketUpgrade(webSocketRouter: router),
            configuration: .init(address: .hostname("0.0.0.0", port: 0)),
            onServerRunning: { channel in
                port.resolve(channel.localAddress?.port ?? 0)
            },
            logger: logger)
        let task = Task { try await application.runService() }
        return (await port.value(), task)
    }

    private func serve(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        let me = nextID.add(1, ordering: .relaxed).newValue
        var joined: [String] = []
        defer {
            rooms.withLock { rooms in for room in joined { rooms[room]?[me] = nil } }
        }
        for try await message in inbound.messages(maxSize: 1 << 16) {
            guard case .text(let text) = message,
                let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
                let op = object["op"] as? String, let room = object["room"] as? String
            else { continue }
            let id = object["id"] as? String ?? ""
            switch op {
            case "join":
                rooms.withLock { $0[room, default: [:]][me] = outbound }
                joined.append(room)
                try await outbound.write(.text(Self.encode(["op": "joined", "id": id, "room": room])))
            case "send":
                let body = object["body"] as? String ?? ""
                try await outbound.write(.text(Self.encode(["op": "ack", "id": id, "room": room])))
                let frame = Self.encode(["op": "message", "room": room, "from": "u\(me)", "body": body])
                let members = rooms.withLock { Array(($0[room] ?? [:]).values) }
                for member in members { try? await member.write(.text(frame)) }
            default:
                continue
            }
        }
    }

    private static func encode(_ object: [String: String]) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: object)) ?? Data(), as: UTF8.self)
    }
}
