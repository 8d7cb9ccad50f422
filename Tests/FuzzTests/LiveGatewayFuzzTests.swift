import ChatDomain
import ChatGateway
import ChatServer
import ChatTestSupport
import Foundation
import HummingbirdWSClient
import Logging
import ServiceLifecycle
import Synchronization
import Testing

/// Random frames over a real WebSocket to a live gateway: each bad one gets an `error`, and the
/// session survives them all (a ping still gets its pong).
@Suite struct LiveGatewayFuzzTests {
    @Test func randomFramesGetErrorsAndTheSessionStaysOpen() async throws {
        let secret = "fuzz-live-secret-of-at-least-32-bytes!!!"
        var gateway = GatewayConfiguration(nodeID: "fuzz")
        gateway.port = 0
        gateway.host = "127.0.0.1"
        gateway.requestRate = 100_000
        gateway.requestBurst = 100_000
        var configuration = ChatNodeConfiguration(gateway: gateway)
        configuration.authentication = .sharedSecret(secret)
        configuration.embeddedBrokerCount = 1
        var logger = Logger(label: "fuzz")
        logger.logLevel = .critical
        let node = try await ChatNode.build(configuration: configuration, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: node)], logger: logger))
        let running = Task { try await group.run() }
        defer { running.cancel() }
        let port = await node.boundPort()
        let token = try await TokenAuthority(mode: .sharedSecret(secret)).issue(user: "fuzzer", lifetime: 600)

        let received = Inbox()
        let (outgoing, continuation) = AsyncStream.makeStream(of: String.self)
        let url = "ws://127.0.0.1:\(port)/v1/ws?token=\(token)"
        let client = Task { try await Self.converse(url: url, outgoing: outgoing, inbox: received, logger: logger) }

        var fuzzer = FrameFuzzer(seed: 0xF0_22ED)
        let parser = ClientFrameParser()
        var expectedErrors = 0
        for _ in 0..<400 {
            var frame = fuzzer.frame()
            if frame.utf8.count > 32 * 1024 { frame = String(frame.prefix(1000)) }
            if case .failure = parser.parse(frame) { expectedErrors += 1 }
            continuation.yield(frame)
        }
        continuation.yield(#"{"op":"ping","id":"final-ping"}"#)
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline, !(received.ponged && received.errors >= expectedErrors) {
            try await Task.sleep(for: .milliseconds(20))
        }
        let errors = received.errors
        let ponged = received.ponged
        #expect(expectedErrors > 100, "the generator should mostly produce bad frames")
        #expect(errors >= expectedErrors, "every refused frame gets an error frame")
        #expect(ponged, "the session is still open and answers a ping")
        continuation.finish()
        _ = await client.result
        await group.triggerGracefulShutdown()
        _ = await running.result
    }

    private static func converse(url: String, outgoing: AsyncStream<String>, inbox: Inbox, logger: Logger) async throws {
        var configuration = WebSocketClientConfiguration(maxFrameSize: 1 << 22)
        configuration.autoPing = .disabled
        _ = try await WebSocketClient.connect(url: url, configuration: configuration, logger: logger) { inbound, outbound, _ in
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask {
                    for await text in outgoing { try await outbound.write(.text(text)) }
                    try await outbound.close(.normalClosure, reason: nil)
                }
                for try await message in inbound.messages(maxSize: 1 << 22) {
                    if case .text(let text) = message { inbox.append(text) }
                }
                tasks.cancelAll()
            }
        }
    }
}

/// Frames the fuzzing client received.
final class Inbox: Sendable {
    private let frames = Mutex<[String]>([])

    func append(_ text: String) { frames.withLock { $0.append(text) } }
    var errors: Int { frames.withLock { $0.filter { $0.contains("\"error\"") }.count } }
    var ponged: Bool { frames.withLock { $0.contains { $0.contains("final-ping") && $0.contains("pong") } } }
}
