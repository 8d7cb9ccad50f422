import ChatDomain
import HummingbirdCore
import Logging
import NIOCore

/// Closes a connection that has not sent a complete HTTP request head within `timeout` (no
/// slowloris: a client cannot hold a connection open by trickling or withholding its head).
///
/// Hummingbird's `idleTimeout` only starts after the first request head is parsed, so this wraps
/// the child channel and puts a handler in front of the HTTP decoder. It watches the raw bytes
/// for the blank line that ends the head, then removes itself: what follows (a WebSocket, more
/// HTTP requests) is governed by pings and the idle timeout.
struct RequestHeadDeadlineChannel<Inner: ServerChildChannel>: ServerChildChannel {
    typealias Value = Inner.Value

    let inner: Inner
    let timeout: Duration

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let timeout = self.timeout
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(RequestHeadDeadlineHandler(timeout: timeout), position: .first)
        }.flatMap { inner.setup(channel: channel, logger: logger) }
    }

    func handle(value: Value, logger: Logger) async {
        await inner.handle(value: value, logger: logger)
    }
}

/// The handler of ``RequestHeadDeadlineChannel``.
final class RequestHeadDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let timeout: Duration
    private var deadline: Scheduled<Void>?
    /// The last bytes seen, to find `\r\n\r\n` split over reads.
    private var tail: [UInt8] = []

    init(timeout: Duration) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: .nanoseconds(timeout.wholeNanoseconds)) {
            channel.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        var window = tail
        window.append(contentsOf: buffer.readableBytesView)
        let complete = Self.containsHeadEnd(window)
        tail = Array(window.suffix(3))
        context.fireChannelRead(data)
        if complete {
            deadline?.cancel()
            deadline = nil
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }

    private static func containsHeadEnd(_ bytes: [UInt8]) -> Bool {
        guard bytes.count >= 4 else { return false }
        for index in 0...(bytes.count - 4)
        where bytes[index] == 13 && bytes[index + 1] == 10 && bytes[index + 2] == 13 && bytes[index + 3] == 10 {
            return true
        }
        return false
    }
}
