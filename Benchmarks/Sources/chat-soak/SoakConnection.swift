import AsyncOneShot
import HummingbirdWSClient
import Logging
import NIOWebSocket
import Synchronization

/// One WebSocket connection of a soak session.
///
/// Incoming text frames are handed to `onText` one at a time and awaited, in arrival order, so the
/// session's state sees them exactly as a client would. Reading can be paused to play a slow
/// client: while paused nothing is read, not even pings, so the server sees a client that neither
/// reads its messages nor answers pings.
final class SoakConnection: Sendable {
    let gateway: Int
    private let outgoing: AsyncStream<String>.Continuation
    private let task: Task<WebSocketCloseFrame?, any Error>
    private let gate: ReadGate
    private let ending: Mutex<(ended: Bool, code: Int?)>

    private init(gateway: Int, outgoing: AsyncStream<String>.Continuation, task: Task<WebSocketCloseFrame?, any Error>, gate: ReadGate) {
        self.gateway = gateway
        self.outgoing = outgoing
        self.task = task
        self.gate = gate
        ending = Mutex((false, nil))
    }

    /// Connects and waits for the upgrade; throws when it was refused or took over 10 s.
    static func connect(gateway: Int, port: Int, token: String, onText: @escaping @Sendable (String) async -> Void) async throws -> SoakConnection {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self)
        let connected = OneShot<Bool>()
        let gate = ReadGate()
        var configuration = WebSocketClientConfiguration(maxFrameSize: 1 << 20)
        configuration.autoPing = .disabled
        var logger = Logger(label: "chat-soak.ws")
        logger.logLevel = .critical
        let task = Task {
            defer { connected.resolve(false) }
            return try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/v1/ws?token=\(token)", configuration: configuration, logger: logger)
            {
                inbound, outbound, _ in
                connected.resolve(true)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await text in stream { try await outbound.write(.text(text)) }
                        try await outbound.close(.normalClosure, reason: nil)
                    }
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        await gate.waitWhilePaused()
                        if case .text(let text) = message { await onText(text) }
                    }
                    group.cancelAll()
                }
            }
        }
        let timeout = Task {
            try await Task.sleep(for: .seconds(10))
            connected.resolve(false)
        }
        let upgraded = await connected.value()
        timeout.cancel()
        guard upgraded else {
            task.cancel()
            continuation.finish()
            _ = await task.result
            throw SoakConnectionError.refused(port: port)
        }
        let connection = SoakConnection(gateway: gateway, outgoing: continuation, task: task, gate: gate)
        connection.watchEnd()
        return connection
    }

    private func watchEnd() {
        Task {
            let code = (try? await task.value)??.closeCode
            ending.withLock { $0 = (true, code.map { Int(UInt16(webSocketErrorCode: $0)) }) }
        }
    }

    func send(_ text: String) {
        outgoing.yield(text)
    }

    func setPaused(_ paused: Bool) {
        gate.set(paused: paused)
    }

    var isEnded: Bool { ending.withLock { $0.ended } }

    /// The close code the server sent, once ended (nil: no close frame, e.g. the process died).
    var closeCode: Int? { ending.withLock { $0.code } }

    /// Waits until the connection has ended.
    func waitForEnd() async {
        _ = await task.result
        while !isEnded { try? await Task.sleep(for: .milliseconds(5)) }
    }

    /// Closes with a close handshake.
    func close() {
        gate.set(paused: false)
        outgoing.finish()
    }

    /// Drops the connection without a close handshake, as a network failure would.
    func abort() {
        gate.set(paused: false)
        task.cancel()
        outgoing.finish()
    }
}

enum SoakConnectionError: Error {
    case refused(port: Int)
}

/// Holds a connection's reading loop while paused.
final class ReadGate: Sendable {
    private let paused = Mutex(false)

    func set(paused value: Bool) { paused.withLock { $0 = value } }

    func waitWhilePaused() async {
        while paused.withLock({ $0 }) { try? await Task.sleep(for: .milliseconds(10)) }
    }
}
