import ChatDomain
import ChatFanout
import ChatPresence
import Foundation
import HummingbirdWebSocket
import Logging
import NIOCore
import NIOWebSocket
import Synchronization

/// One client WebSocket connection: reads requests in order, and writes replies and room events
/// through a bounded outbox.
final class ChatSession: RoomSubscriber, PresenceListener, Sendable {
    let authentication: SessionAuthentication
    let services: GatewayServices
    let outbox: SessionOutbox
    let inflight: InflightRequests
    /// Edits and deletes, applied in the order sent.
    let changes = SerialChanges()
    /// The client's IP address, as the per-address bound counts it.
    let clientAddress: String
    private let channel: any Channel
    private let control = SessionControl()

    init(identity: ChatIdentity, services: GatewayServices, channel: any Channel) {
        self.authentication = SessionAuthentication(identity)
        self.services = services
        self.channel = channel
        self.clientAddress = SessionRegistry.addressKey(channel)
        self.inflight = InflightRequests(limit: services.configuration.maxInFlightSendsPerSession)
        let slowClose = SlowSessionCloser(channel: channel, metrics: services.metrics, grace: services.configuration.slowCloseGrace)
        let control = self.control
        self.outbox = SessionOutbox(limit: services.configuration.outboundQueueBytes) {
            slowClose.close()
            control.state.withLock { $0.reader }?.cancel()
        }
    }

    var userID: String { identity.userID }
    /// The identity of the session's current token (`auth` may replace it).
    var identity: ChatIdentity { authentication.identity }

    func deliver(_ frame: String) -> Bool {
        outbox.enqueue(frame)
    }

    func reply(_ frame: String) {
        outbox.enqueue(frame)
    }

    func reply(_ error: ProtocolError) {
        outbox.enqueue(ServerFrame.error(error))
    }

    /// Serves the connection until the client leaves, the server drains, or the session is closed.
    /// Rethrows what ended the inbound stream so the WebSocket layer closes with its code (1009...).
    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        if let refusal = services.registry.add(self) {
            // Upgrades that passed the check at the same time: the bound holds here.
            try await outbound.close(.policyViolation, reason: "limit: \(refusal)")
            return
        }
        services.metrics.sessionOpened()
        await services.presence.sessionOpened(user: identity.userID, listener: self)
        defer {
            authentication.end()
            services.registry.remove(self)
            services.metrics.sessionClosed()
        }
        let reader = Task { try await self.readRequests(inbound) }
        let drainingAlready = control.state.withLock { control in
            control.reader = reader
            return control.draining
        }
        if drainingAlready { reader.cancel() }
        authentication.scheduleExpiry(on: channel.eventLoop) { [control] in
            let reader = control.state.withLock { control in
                if control.closeReason == nil { control.closeReason = .tokenExpired }
                return control.reader
            }
            reader?.cancel()
        }

        let readerResult = await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.writeFrames(outbound) }
            let result = await reader.result
            await inflight.waitUntilEmpty(timeout: services.configuration.drainTimeout)
            outbox.close(control.state.withLock { $0.closeReason } ?? .connectionEnded)
            await group.waitForAll()
            return result
        }
        await services.fanout.leaveAll(subscriber: self)
        await services.presence.sessionClosed(user: identity.userID, listener: self)
        if case .failure(let error) = readerResult, !(error is CancellationError) {
            throw error
        }
    }

    /// Stops reading requests; in-flight sends finish, then the session closes with 1001.
    func drain() {
        let reader = control.state.withLock { control in
            control.draining = true
            control.closeReason = .goingAway
            return control.reader
        }
        reader?.cancel()
    }

    /// Writes the frames to the connection with one flush and waits until the last is handed to
    /// the socket, so a slow client still holds the writer back and its outbox fills up.
    ///
    /// Written to the channel directly rather than one `WebSocketOutboundWriter.write` per frame:
    /// that path flushes (one `writev`) and wakes this task for every frame, which under load cost
    /// more CPU than everything else the fan-out does per delivery. No WebSocket extension is
    /// negotiated, so the frames need no processing on the way, and the channel keeps them in
    /// order with the pings and the close that the WebSocket handler writes.
    private func writeBatch(_ frames: [String]) async throws {
        let channel = self.channel
        try await channel.eventLoop.flatSubmit {
            var last: EventLoopFuture<Void>?
            for frame in frames {
                let data = channel.allocator.buffer(string: frame)
                last = channel.write(WebSocketFrame(fin: true, opcode: .text, data: data))
            }
            channel.flush()
            return last ?? channel.eventLoop.makeSucceededVoidFuture()
        }.get()
    }

    private func writeFrames(_ outbound: WebSocketOutboundWriter) async {
        do {
            while true {
                switch await outbox.next() {
                case .wait:
                    continue
                case .write(let frames):
                    try await writeBatch(frames)
                    services.metrics.framesOut.increment(by: Int64(frames.count))
                case .finish(.goingAway):
                    try await outbound.close(.goingAway, reason: "server shutting down: reconnect and resume with your cursor")
                    return
                case .finish(.rateLimited):
                    try await outbound.close(.init(codeNumber: 4029), reason: "rate limit exceeded repeatedly")
                    return
                case .finish(.tokenExpired):
                    try await outbound.close(.init(codeNumber: 4001), reason: "token expired: reconnect with a fresh token and resume with your cursor")
                    return
                case .finish:
                    return
                }
            }
        } catch {
            // The connection is gone: stop reading too, nothing more can be delivered.
            outbox.close(.connectionEnded)
            control.state.withLock { $0.reader }?.cancel()
        }
    }

    private func readRequests(_ inbound: WebSocketInboundStream) async throws {
        let configuration = services.configuration
        var rateLimit = TokenBucket(rate: configuration.requestRate, burst: configuration.requestBurst, now: Self.seconds())
        var strikes = 0
        var joined = Set<RoomName>()
        var lastTyping: [RoomName: Double] = [:]
        for try await message in inbound.messages(maxSize: configuration.maxFrameBytes) {
            services.metrics.framesIn.increment()
            // Every frame counts against the rate limit, binary ones included: answering them
            // costs as much as a request.
            guard rateLimit.take(now: Self.seconds()) else {
                services.metrics.rateLimited.increment()
                strikes += 1
                reply(ProtocolError(.rateLimited, "too many requests: at most \(Int(configuration.requestRate)) per second"))
                if strikes >= configuration.rateLimitStrikes {
                    control.state.withLock { $0.closeReason = .rateLimited }
                    return
                }
                continue
            }
            strikes = 0
            guard case .text(let text) = message else {
                reply(ProtocolError(.badRequest, "binary frames are not supported: send one JSON object per text frame"))
                continue
            }
            switch services.parser.parse(text) {
            case .failure(let error):
                reply(error)
            case .success(let frame):
                await handle(frame, joined: &joined, lastTyping: &lastTyping)
            }
        }
    }

    /// Monotonic seconds for the rate limiter.
    private static func seconds() -> Double {
        ProcessInfo.processInfo.systemUptime
    }
}

/// Sends close 4008 to a session that cannot keep up, behind the frames already handed to the
/// connection, then closes the connection if the client does not finish the close handshake.
struct SlowSessionCloser: Sendable {
    let channel: any Channel
    let metrics: GatewayMetrics
    let grace: Duration

    func close() {
        metrics.sessionsClosedSlow.increment()
        var buffer = channel.allocator.buffer(capacity: 64)
        buffer.write(webSocketErrorCode: WebSocketErrorCode(codeNumber: 4008))
        buffer.writeString("too slow: reconnect and resume with your cursor")
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, data: buffer)
        let channel = self.channel
        channel.writeAndFlush(frame, promise: nil)
        channel.eventLoop.scheduleTask(in: .nanoseconds(grace.wholeNanoseconds)) { channel.close(promise: nil) }
    }
}

/// What the reader, the writer and shutdown share about a session's end.
final class SessionControl: Sendable {
    struct State {
        var reader: Task<Void, any Error>?
        var draining = false
        var closeReason: SessionCloseReason?
    }

    let state = Mutex(State())
}
