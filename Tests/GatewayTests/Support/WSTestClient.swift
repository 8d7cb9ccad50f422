import AsyncOneShot
import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import NIOWebSocket
import Synchronization
import Testing

/// A real WebSocket client for end-to-end tests: sends JSON requests, records every text frame.
final class WSTestClient: Sendable {
    private let frames = Mutex<[ParsedFrame]>([])
    private let outgoing: AsyncStream<OutgoingFrame>.Continuation
    private let task: Task<WebSocketCloseFrame?, any Error>
    private let gate = ReadGate()
    private let ending = Mutex<(ended: Bool, code: WebSocketErrorCode?)>((false, nil))
    let user: String

    private init(user: String, outgoing: AsyncStream<OutgoingFrame>.Continuation, task: Task<WebSocketCloseFrame?, any Error>) {
        self.user = user
        self.outgoing = outgoing
        self.task = task
    }

    private func watchEnd() {
        Task {
            let code = (try? await task.value)??.closeCode
            ending.withLock { $0 = (true, code) }
        }
    }

    /// Connects and waits until the upgrade succeeded. Throws when the server refuses it.
    /// With `tokenInURL: false` the token goes only where `headers` put it (e.g. a subprotocol).
    static func connect(
        port: Int, user: String, token explicitToken: String? = nil, path: String = "/v1/ws", headers: HTTPFields = [:], tokenInURL: Bool = true
    ) async throws -> WSTestClient {
        let token = if let explicitToken { explicitToken } else { try await GatewayTests.token(user) }
        let (stream, continuation) = AsyncStream.makeStream(of: OutgoingFrame.self)
        let connected = OneShot<Bool>()
        let box = ClientBox()
        var configuration = WebSocketClientConfiguration(maxFrameSize: 1 << 22, additionalHeaders: headers)
        configuration.autoPing = .disabled
        let task = Task {
            defer { connected.resolve(false) }
            return try await WebSocketClient.connect(
                url: tokenInURL ? "ws://127.0.0.1:\(port)\(path)?token=\(token)" : "ws://127.0.0.1:\(port)\(path)", configuration: configuration,
                logger: testLogger("test.ws")
            ) { inbound, outbound, _ in
                connected.resolve(true)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await frame in stream {
                            switch frame {
                            case .text(let text): try await outbound.write(.text(text))
                            case .binary(let bytes): try await outbound.write(.binary(ByteBuffer(bytes: bytes)))
                            case .ping: try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .ping, data: ByteBuffer())))
                            }
                        }
                        try await outbound.close(.normalClosure, reason: nil)
                    }
                    for try await message in inbound.messages(maxSize: 1 << 22) {
                        await box.client?.gate.waitWhilePaused()
                        if case .text(let text) = message {
                            let frame = ParsedFrame(text)
                            box.client?.frames.withLock { $0.append(frame) }
                        }
                    }
                    group.cancelAll()
                }
            }
        }
        let client = WSTestClient(user: user, outgoing: continuation, task: task)
        box.client = client
        client.watchEnd()
        guard await connected.value() else {
            _ = await task.result
            throw WSTestClientError.refused
        }
        return client
    }

    func send(_ object: [String: Any]) {
        let data = try! JSONSerialization.data(withJSONObject: object)
        outgoing.yield(.text(String(decoding: data, as: UTF8.self)))
    }

    func send(raw text: String) {
        outgoing.yield(.text(text))
    }

    /// A WebSocket ping control frame (not the protocol's `ping` op).
    func sendControlPing() {
        outgoing.yield(.ping)
    }

    func send(binary bytes: [UInt8]) {
        outgoing.yield(.binary(bytes))
    }

    var receivedFrames: [[String: Any]] {
        frames.withLock { $0 }.map(\.object)
    }

    func received(op: String, room: String? = nil) -> [[String: Any]] {
        frames.withLock { frames in
            frames.filter { $0.op == op && (room == nil || $0.room == room) }
        }.map(\.object)
    }

    /// Frames with this op (and room), each with the time it was read off the connection.
    func arrivals(op: String, room: String? = nil) -> [(object: [String: Any], arrived: ContinuousClock.Instant)] {
        frames.withLock { frames in
            frames.filter { $0.op == op && (room == nil || $0.room == room) }
        }.map { ($0.object, $0.arrived) }
    }

    func count(op: String, room: String? = nil) -> Int {
        frames.withLock { frames in frames.reduce(0) { $0 + ($1.op == op && (room == nil || $1.room == room) ? 1 : 0) } }
    }

    /// Waits until a frame matching `predicate` arrived; returns it.
    @discardableResult
    func waitFor(
        _ description: String, timeout: Duration = .seconds(20), sourceLocation: SourceLocation = #_sourceLocation,
        _ predicate: ([String: Any]) -> Bool
    ) async throws -> [String: Any] {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if let match = receivedFrames.first(where: predicate) { return match }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("\(user): timed out waiting for \(description)", sourceLocation: sourceLocation)
        throw WSTestClientError.timeout(description)
    }

    /// Waits for the reply to the request with this id.
    @discardableResult
    func reply(to id: String, timeout: Duration = .seconds(20), sourceLocation: SourceLocation = #_sourceLocation) async throws -> [String: Any] {
        try await waitFor("reply to \(id)", timeout: timeout, sourceLocation: sourceLocation) { $0["id"] as? String == id }
    }

    /// Waits until `count` frames with this op (and room) arrived.
    @discardableResult
    func waitForCount(
        _ count: Int, op: String, room: String? = nil, timeout: Duration = .seconds(30), sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> [[String: Any]] {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if self.count(op: op, room: room) >= count { return received(op: op, room: room) }
            try await Task.sleep(for: .milliseconds(10))
        }
        let got = received(op: op, room: room).count
        Issue.record("\(user): timed out waiting for \(count) \(op) frames; got \(got)", sourceLocation: sourceLocation)
        throw WSTestClientError.timeout("\(count) \(op)")
    }

    func join(_ room: String, since: String? = nil, id: String? = nil) async throws -> [String: Any] {
        let id = id ?? "join-\(room)-\(UUID().uuidString.prefix(6))"
        var request: [String: Any] = ["op": "join", "room": room, "id": id]
        if let since { request["since"] = since }
        send(request)
        return try await reply(to: id)
    }

    /// Stops reading from the socket (the server's writes back up) until ``resumeReading()``.
    func pauseReading() { gate.set(paused: true) }
    func resumeReading() { gate.set(paused: false) }

    /// Closes from the client side and waits for the connection to end.
    func close() async {
        gate.set(paused: false)
        outgoing.finish()
        _ = await task.result
    }

    /// Waits for the server to close the connection; returns its close code.
    func closeCode(timeout: Duration = .seconds(20)) async -> WebSocketErrorCode? {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            let (ended, code) = ending.withLock { $0 }
            if ended { return code }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    /// True once the connection has ended.
    var isClosed: Bool { ending.withLock { $0.ended } }

    /// Ends the connection abruptly (no close handshake).
    func abort() {
        task.cancel()
        outgoing.finish()
    }
}

enum WSTestClientError: Error {
    case refused
    case timeout(String)
}

final class ClientBox: @unchecked Sendable {
    // Set once right after the client object exists, before any frame can be read.
    var client: WSTestClient?
}

/// Pauses the client's reading loop.
final class ReadGate: Sendable {
    private let paused = Mutex(false)

    func set(paused value: Bool) { paused.withLock { $0 = value } }

    func waitWhilePaused() async {
        while paused.withLock({ $0 }) { try? await Task.sleep(for: .milliseconds(5)) }
    }
}

/// A received frame, parsed once on arrival.
struct ParsedFrame: @unchecked Sendable {
    // The dictionary is immutable after parsing; it only holds JSON values.
    let object: [String: Any]
    let op: String?
    let room: String?
    let arrived = ContinuousClock.now

    init(_ text: String) {
        object = (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
        op = object["op"] as? String
        room = object["room"] as? String
    }
}

/// A frame a test client writes.
enum OutgoingFrame: Sendable {
    case text(String)
    case binary([UInt8])
    case ping
}
