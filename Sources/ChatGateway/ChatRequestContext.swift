import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// The request context of the gateway's HTTP and WebSocket routes. It keeps the connection's
/// channel so that a session too slow to read can still be sent its close frame.
public struct ChatRequestContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<ChatRequestContext>
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.webSocket = .init()
        self.channel = source.channel
    }
}
