import NIOCore

/// The place in a session's pipeline where already framed bytes (``ChatFanout/WireFrame``) enter
/// it: right after the head, below NIOWebSocket's frame encoder, which would frame them again.
///
/// It forwards writes untouched; the session writes through its context.
final class WireWriter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
}
