import NIOCore
import NIOHTTP1

/// Turns the response hummingbird-websocket writes for a refused WebSocket upgrade (an empty 400,
/// with no way to choose it) into the contract's: 401 or 403 with a JSON `error` body.
///
/// The gateway adds it to the connection's pipeline while deciding to refuse, before the
/// not-upgraded HTTP handlers are appended behind it, so it sees that response as HTTP/1 parts on
/// their way to the encoder.
final class RefusedUpgradeResponder: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let status: HTTPResponseStatus
    private let body: String
    private var replaced = false

    init(status: HTTPResponseStatus, body: String) {
        self.status = status
        self.body = body
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let original) where !replaced:
            replaced = true
            var headers = HTTPHeaders()
            headers.add(name: "Content-Type", value: "application/json")
            headers.add(name: "Content-Length", value: String(body.utf8.count))
            headers.add(name: "Connection", value: "close")
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: original.version, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: promise)
        case .body where replaced:
            // The library's own body (empty today) would break the Content-Length written above.
            promise?.succeed()
        default:
            context.write(data, promise: promise)
        }
    }

    /// Installs the responder on `channel`; returns once it is in place.
    static func install(on channel: any Channel, status: HTTPResponseStatus, body: String) async throws {
        try await channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(RefusedUpgradeResponder(status: status, body: body))
        }.get()
    }
}
