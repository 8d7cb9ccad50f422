import ChatDomain
import ChatFanout
import Foundation
import NIOCore
import NIOWebSocket

/// A session's connection, in its channel pipeline behind NIOWebSocket's frame decoder: reads
/// client frames into requests, answers pings, writes what the session and the fan-out send, and
/// runs the close handshake. It lives on the connection's event loop and is touched only there.
///
/// Outbound frames are complete WebSocket frames (``ChatFanout/WireFrame``) written through the
/// ``WireWriter`` near the head of the pipeline. What the connection has not sent yet is bounded
/// in bytes by the channel's write watermarks: over the high one the session is closed with 4008,
/// and nothing anyone else receives waits for it.
final class ChatSessionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame

    let session: ChatSession
    private let configuration: GatewayConfiguration
    private let metrics: GatewayMetrics
    private let parser: ClientFrameParser
    private let keepAlive: LoopKeepAlive
    private var wire: ChannelHandlerContext?
    private var context: ChannelHandlerContext?
    private var registered = false

    // Outbound
    private var unflushedFrames = 0
    private var flushQueued = false
    /// A close frame was sent: nothing more may follow it.
    private var closeSent = false

    // Inbound
    /// A fragmented data message being reassembled, with its first frame's opcode.
    private var fragments: (opcode: WebSocketOpcode, data: ByteBuffer)?
    private var requests: TokenBucket
    private var requestStrikes = 0
    private var controlFrames: TokenBucket
    private var controlStrikes = 0

    // Keep-alive, driven by the event loop's one timer (``LoopKeepAlive``)
    private var nextPing: NIODeadline
    private var awaitingPong = false
    private var expiryHandled = false

    private init(session: ChatSession, services: GatewayServices, keepAlive: LoopKeepAlive) {
        let configuration = services.configuration
        self.session = session
        self.configuration = configuration
        self.metrics = services.metrics
        self.parser = services.parser
        self.keepAlive = keepAlive
        let now = Self.seconds()
        self.requests = TokenBucket(rate: configuration.requestRate, burst: configuration.requestBurst, now: now)
        self.controlFrames = TokenBucket(rate: configuration.requestRate, burst: configuration.requestBurst, now: now)
        self.nextPing = .now() + .nanoseconds(configuration.pingInterval.wholeNanoseconds)
    }

    /// Sets up an upgraded connection's session. Called on the channel's event loop.
    static func install(on channel: any Channel, identity: ChatIdentity, services: GatewayServices) throws {
        let limit = max(2, services.configuration.outboundQueueBytes)
        try channel.syncOptions?.setOption(ChannelOptions.writeBufferWaterMark, value: .init(low: limit / 2, high: limit))
        // The channel keeps its last receive buffer for the next read. Client frames are small, so
        // a small first guess (it grows when reads fill it) keeps an idle session's memory small.
        try channel.syncOptions?.setOption(
            ChannelOptions.recvAllocator, value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536))
        let pipeline = channel.pipeline.syncOperations
        let writer = WireWriter()
        try pipeline.addHandler(writer, position: .first)
        let session = ChatSession(identity: identity, services: services, channel: channel)
        let handler = ChatSessionHandler(session: session, services: services, keepAlive: services.keepAlive.timer(for: channel.eventLoop))
        handler.wire = try pipeline.context(handler: writer)
        try pipeline.addHandler(handler)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if let refusal = session.open(on: self) {
            // Upgrades that passed the check at the same time: the bound holds here.
            close(code: .policyViolation, reason: "limit: \(refusal)", grace: .seconds(1))
            return
        }
        registered = true
        keepAlive.add(self)
    }

    func channelInactive(context: ChannelHandlerContext) {
        end()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        end()
        self.context = nil
        wire = nil
    }

    private func end() {
        guard registered else { return }
        registered = false
        keepAlive.remove(self)
        session.connectionClosed()
    }

    // MARK: Writing

    func write(_ frame: WireFrame) {
        guard !closeSent, let wire else { return }
        wire.write(NIOAny(frame.bytes), promise: nil)
        unflushedFrames += 1
    }

    /// Flushes soon: after the fan-out batches already queued on the loop (see ``LoopKeepAlive``).
    func flush() {
        guard unflushedFrames > 0, !flushQueued else { return }
        flushQueued = true
        keepAlive.flushSoon(self)
    }

    func flushNow() {
        flushQueued = false
        guard unflushedFrames > 0, let wire else { return }
        metrics.framesOut.increment(by: Int64(unflushedFrames))
        unflushedFrames = 0
        wire.flush()
    }

    /// Sends the close frame behind what is queued; the connection is cut if the client has not
    /// answered it within `grace`.
    private func close(code: WebSocketErrorCode, reason: String, grace: Duration) {
        guard !closeSent, let wire else { return }
        write(Self.closeFrame(code: code, reason: reason))
        flushNow()
        closeSent = true
        let channel = wire.channel
        wire.eventLoop.scheduleTask(in: .nanoseconds(grace.wholeNanoseconds)) { channel.close(promise: nil) }
    }

    /// Closes with the reason's code (the session's requests are finished by then).
    func close(_ reason: SessionCloseReason, grace: Duration = .seconds(5)) {
        close(code: reason.code, reason: reason.reason, grace: grace)
    }

    func closeAsTooSlow() {
        guard !closeSent else { return }
        metrics.sessionsClosedSlow.increment()
        close(.tooSlow, grace: configuration.slowCloseGrace)
        session.stoppedAsTooSlow()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        // Over the high watermark: the client has not taken `outboundQueueBytes` of what was sent.
        if !context.channel.isWritable { closeAsTooSlow() }
        context.fireChannelWritabilityChanged()
    }

    func pauseReading() {
        context?.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
    }

    func resumeReading() {
        guard let context else { return }
        context.channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
        context.read()
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        awaitingPong = false
        switch frame.opcode {
        case .ping, .pong:
            controlFrame(frame)
        case .connectionClose:
            receivedClose(frame, context: context)
        case .text, .binary:
            guard fragments == nil else { return protocolError("a new message started before the fragmented one ended") }
            if frame.fin {
                message(opcode: frame.opcode, data: frame.unmaskedData)
            } else {
                fragments = (frame.opcode, frame.unmaskedData)
            }
        case .continuation:
            guard var pending = fragments else { return protocolError("a continuation frame without a message to continue") }
            fragments = nil
            var data = frame.unmaskedData
            guard pending.data.readableBytes + data.readableBytes <= configuration.maxFrameBytes else {
                return close(code: .messageTooLarge, reason: "message over \(configuration.maxFrameBytes) bytes", grace: .seconds(1))
            }
            pending.data.writeBuffer(&data)
            if frame.fin {
                message(opcode: pending.opcode, data: pending.data)
            } else {
                fragments = pending
            }
        default:
            protocolError("unknown opcode")
        }
    }

    /// Pings and pongs count against a rate of their own: over it they are dropped (no pong is
    /// queued for a client that may not read them), and `rateLimitStrikes` drops in a row close
    /// the session with 4029.
    private func controlFrame(_ frame: WebSocketFrame) {
        guard !closeSent else { return }
        guard controlFrames.take(now: Self.seconds()) else {
            controlStrikes += 1
            if controlStrikes >= configuration.rateLimitStrikes {
                close(.rateLimited, grace: .seconds(1))
            }
            return
        }
        controlStrikes = 0
        guard frame.opcode == .ping else { return }
        write(WireFrame(opcode: UInt8(webSocketOpcode: .pong), payload: frame.unmaskedData))
        flushNow()
    }

    private func receivedClose(_ frame: WebSocketFrame, context: ChannelHandlerContext) {
        guard !closeSent else {
            // The client answered our close: the handshake is complete.
            context.close(promise: nil)
            return
        }
        var payload = frame.unmaskedData
        let code = payload.readWebSocketErrorCode() ?? .normalClosure
        write(Self.closeFrame(code: code, reason: ""))
        flushNow()
        closeSent = true
        context.close(promise: nil)
    }

    private func message(opcode: WebSocketOpcode, data: ByteBuffer) {
        guard session.acceptsRequests, !closeSent else { return }
        metrics.framesIn.increment()
        // Every message counts against the rate limit, binary ones included: answering them
        // costs as much as a request.
        guard requests.take(now: Self.seconds()) else {
            metrics.rateLimited.increment()
            requestStrikes += 1
            session.reply(ProtocolError(.rateLimited, "too many requests: at most \(Int(configuration.requestRate)) per second"))
            if requestStrikes >= configuration.rateLimitStrikes { session.finish(.rateLimited) }
            return
        }
        requestStrikes = 0
        guard opcode == .text else {
            return session.reply(ProtocolError(.badRequest, "binary frames are not supported: send one JSON object per text frame"))
        }
        let parsed = data.withUnsafeReadableBytes { parser.parse(bytes: $0) }
        switch parsed {
        case .failure(let error): session.reply(error)
        case .success(let frame): session.received(frame)
        }
    }

    private func protocolError(_ reason: String) {
        close(code: .protocolError, reason: reason, grace: .seconds(1))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        switch error {
        case NIOWebSocketError.invalidFrameLength:
            close(code: .messageTooLarge, reason: "message over \(configuration.maxFrameBytes) bytes", grace: .seconds(1))
        case is NIOWebSocketError:
            protocolError("malformed frame")
        default:
            context.close(promise: nil)
        }
    }

    // MARK: Keep-alive

    /// One tick of the event loop's keep-alive timer: ends a session whose token expired, pings
    /// one that is due, and drops one that did not answer the previous ping.
    func keepAlive(now: NIODeadline, wallClock: Date, interval: TimeAmount) {
        guard registered, !closeSent else { return }
        if !expiryHandled, session.authentication.hasExpired(at: wallClock) {
            expiryHandled = true
            session.finish(.tokenExpired)
        }
        guard now >= nextPing else { return }
        if awaitingPong {
            // Silent since the last ping: a client that is gone, or frozen.
            context?.close(promise: nil)
            return
        }
        awaitingPong = true
        nextPing = now + interval
        write(WireFrame(opcode: UInt8(webSocketOpcode: .ping), payload: ByteBuffer()))
        flushNow()
    }

    private static func closeFrame(code: WebSocketErrorCode, reason: String) -> WireFrame {
        var payload = ByteBuffer()
        payload.write(webSocketErrorCode: code)
        payload.writeString(reason)
        return WireFrame(opcode: UInt8(webSocketOpcode: .connectionClose), payload: payload)
    }

    /// Monotonic seconds for the rate limiters.
    private static func seconds() -> Double {
        ProcessInfo.processInfo.systemUptime
    }
}
