import ChatDomain
import Foundation
import NIOCore
import NIOWebSocket

/// Counts a client's ping and pong frames against a rate of their own, in the pipeline in front
/// of the WebSocket library, which answers pings itself and never shows them to the session.
///
/// Over the rate a control frame is dropped (so no pong is queued for a client that may not read
/// them), and after `strikesAllowed` drops in a row the session is closed with 4029, as for
/// data frames.
final class ControlFrameLimiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias InboundOut = WebSocketFrame

    private var bucket: TokenBucket
    private let strikesAllowed: Int
    private var strikes = 0
    private var closing = false

    init(rate: Double, burst: Double, strikesAllowed: Int) {
        self.bucket = TokenBucket(rate: rate, burst: burst, now: Self.seconds())
        self.strikesAllowed = strikesAllowed
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard frame.opcode == .ping || frame.opcode == .pong else { return context.fireChannelRead(data) }
        guard !closing else { return }
        guard bucket.take(now: Self.seconds()) else {
            strikes += 1
            if strikes >= strikesAllowed { close(context) }
            return
        }
        strikes = 0
        context.fireChannelRead(data)
    }

    private func close(_ context: ChannelHandlerContext) {
        closing = true
        var buffer = context.channel.allocator.buffer(capacity: 48)
        buffer.write(webSocketErrorCode: WebSocketErrorCode(codeNumber: 4029))
        buffer.writeString("rate limit exceeded repeatedly")
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, data: buffer)
        let channel = context.channel
        context.writeAndFlush(NIOAny(frame)).whenComplete { _ in channel.close(promise: nil) }
    }

    /// Installs the limiter right behind the frame decoder of an upgraded connection.
    static func install(on channel: any Channel, configuration: GatewayConfiguration) async throws {
        try await channel.eventLoop.submit {
            let pipeline = channel.pipeline.syncOperations
            let decoder = try pipeline.handler(type: ByteToMessageHandler<WebSocketFrameDecoder>.self)
            let limiter = ControlFrameLimiter(
                rate: configuration.requestRate, burst: configuration.requestBurst, strikesAllowed: configuration.rateLimitStrikes)
            try pipeline.addHandler(limiter, position: .after(decoder))
        }.get()
    }

    private static func seconds() -> Double {
        ProcessInfo.processInfo.systemUptime
    }
}
