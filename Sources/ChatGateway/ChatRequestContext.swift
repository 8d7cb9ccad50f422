import Hummingbird
import NIOCore

/// The request context of the gateway's HTTP routes. It keeps the connection's channel, whose
/// client address the per-address bound counts.
public struct ChatRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }
}
