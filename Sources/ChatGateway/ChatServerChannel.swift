import ChatDomain
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket

/// A gateway connection: HTTP/1 for the routes, or a WebSocket session after an upgrade of
/// `/v1/ws`.
///
/// A session lives in the channel pipeline (``ChatSessionHandler``): once upgraded, the
/// connection's task returns and the session runs on its event loop with no task of its own. An
/// upgrade that is refused (origin, token, limits) is answered 403 / 401 / 429 with the
/// protocol's JSON error body, and the connection closed.
struct ChatServerChannel: ServerChildChannel, HTTPChannelHandler {
    enum Outcome: Sendable {
        case webSocket
        case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        case refused(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, Refusal)
    }

    /// Why an upgrade of `/v1/ws` was refused, as the HTTP answer says it.
    struct Refusal: Sendable {
        let status: HTTPResponse.Status
        let error: ProtocolError
    }

    struct Value: ServerChildChannelValue {
        let outcome: EventLoopFuture<Outcome>
        let channel: any Channel
    }

    /// What became of an upgrade request.
    private enum Admission: Sendable {
        /// Open a session for `identity`, answering with `headers`.
        case accepted(ChatIdentity, HTTPHeaders)
        case refused(Refusal)
        /// Not the WebSocket path: the HTTP routes answer.
        case notWebSocket
    }

    let responder: HTTPChannelHandler.Responder
    let services: GatewayServices
    let http1: HTTP1Channel.Configuration

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let admitted = NIOLoopBoundBox<Admission>(.notWebSocket, eventLoop: channel.eventLoop)
            let services = self.services
            let upgrader = NIOTypedWebSocketServerUpgrader<Outcome>(
                maxFrameSize: services.configuration.maxFrameBytes,
                // The session answers protocol errors itself, with its own close frames.
                enableAutomaticErrorHandling: false,
                shouldUpgrade: { channel, head in
                    let promise = channel.eventLoop.makePromise(of: Admission.self)
                    promise.completeWithTask { await Self.admission(head, channel: channel, services: services) }
                    return promise.futureResult.map { admission in
                        admitted.value = admission
                        guard case .accepted(_, let headers) = admission else { return nil }
                        return headers
                    }
                },
                upgradePipelineHandler: { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        guard case .accepted(let identity, _) = admitted.value else { throw ChannelError.inappropriateOperationForState }
                        try ChatSessionHandler.install(on: channel, identity: identity, services: services)
                        return Outcome.webSocket
                    }
                })
            let http1 = self.http1
            let upgrades = NIOTypedHTTPServerUpgradeConfiguration(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let pipeline = channel.pipeline.syncOperations
                        try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try pipeline.addHandlers(http1.additionalChannelHandlers())
                        try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: http1.idleTimeout.map { .init($0) }, logger: logger))
                        let http = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                        if case .refused(let refusal) = admitted.value { return Outcome.refused(http, refusal) }
                        return Outcome.http(http)
                    }
                })
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration(upgradeConfiguration: upgrades)
            configuration.enablePipelining = false  // NIOAsyncChannel serves requests one by one
            configuration.enableErrorHandling = false  // Hummingbird answers errors
            configuration.enableResponseHeaderValidation = false  // HTTPTypes validated them
            configuration.decoderConfiguration.maxHeaderFieldSize = http1.httpDecoder.maxHeaderFieldSize
            configuration.decoderConfiguration.maxHeaderListSize = http1.httpDecoder.maxHeaderListSize
            configuration.decoderConfiguration.maxHeaderFieldCount = http1.httpDecoder.maxHeaderFieldCount
            let outcome = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
            return Value(outcome: outcome, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.outcome.get() {
            case .webSocket:
                return  // the session runs in the pipeline from here on
            case .http(let http):
                await handleHTTP(asyncChannel: http, logger: logger)
            case .refused(let http, let refusal):
                try await Self.answer(refusal, on: http)
            }
        } catch {
            logger.debug("connection ended before its first request was served", metadata: ["error": "\(error)"])
        }
    }

    /// Whether `head` may open a session: the origin, the token, then the node's bounds.
    private static func admission(_ head: HTTPRequestHead, channel: any Channel, services: GatewayServices) async -> Admission {
        guard URI(head.uri).path == "/v1/ws" else { return .notWebSocket }
        if let refusal = services.configuration.originRefusal(head.headers.first(name: "origin")) {
            return .refused(Refusal(status: .forbidden, error: ProtocolError(.forbidden, refusal)))
        }
        let identity: ChatIdentity
        do throws(TokenAuthority.Refusal) {
            identity = try await services.authority.verify(upgrade: head)
        } catch {
            return .refused(Refusal(status: .unauthorized, error: ProtocolError(.unauthorized, error.reason)))
        }
        if let refusal = services.registry.refusal(user: identity.userID, address: SessionRegistry.addressKey(channel)) {
            return .refused(Refusal(status: .tooManyRequests, error: ProtocolError(.limit, refusal)))
        }
        var headers = HTTPHeaders()
        // A client that offered its token as a subprotocol must see it selected, or a browser
        // fails the connection.
        if let subprotocol = TokenAuthority.bearerSubprotocol(in: head.headers[TokenAuthority.subprotocolHeader]) {
            headers.add(name: TokenAuthority.subprotocolHeader, value: subprotocol)
        }
        return .accepted(identity, headers)
    }

    /// Answers a refused upgrade and closes the connection: what follows the request on it was
    /// meant for a WebSocket, not HTTP.
    private static func answer(_ refusal: Refusal, on http: NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>) async throws {
        let body = ByteBuffer(string: ServerFrame.error(refusal.error))
        try await http.executeThenClose { _, outbound in
            let head = HTTPResponse(
                status: refusal.status,
                headerFields: [.connection: "close", .contentType: "application/json", .contentLength: String(body.readableBytes)])
            try await outbound.write(contentsOf: [.head(head), .body(body), .end(nil)])
        }
    }
}
