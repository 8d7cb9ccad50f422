import ChatDomain
import ChatFanout
import Foundation
import HTTPTypes
import Hummingbird

/// The HTTP routes and the WebSocket endpoint of a gateway node.
enum GatewayRoutes {
    /// The gateway's own routes; the operational ones (`/healthz`, `/readyz`, `/metrics`) are
    /// the composition root's, shared with the compactor role.
    static func addRoutes(to router: Router<ChatRequestContext>, services: GatewayServices) {
        // An upgrade the WebSocket path refused lands here (as does a plain GET): say why.
        router.get("/v1/ws") { request, context -> Response in
            if let refusal = services.configuration.originRefusal(request.headers[.origin]) { return errorResponse(.forbidden, .forbidden, refusal) }
            let identity: ChatIdentity
            do throws(TokenAuthority.Refusal) {
                identity = try await services.authority.verify(request: request)
            } catch {
                return errorResponse(.unauthorized, .unauthorized, error.reason)
            }
            if let refusal = services.registry.refusal(user: identity.userID, address: SessionRegistry.addressKey(context.channel)) {
                return errorResponse(.tooManyRequests, .limit, refusal)
            }
            return errorResponse(.badRequest, .badRequest, "expected a WebSocket upgrade request")
        }
        if services.authority.issuesTokens {
            router.post("/v1/dev/token") { request, context -> Response in
                await issueDevelopmentToken(request, context: context, authority: services.authority)
            }
        }
        router.post("/v1/rooms/:room/messages") { request, context -> Response in
            await publish(request, context: context, services: services)
        }
        router.get("/v1/rooms/:room/messages") { request, context -> Response in
            await history(request, context: context, services: services)
        }
        addRoomRoutes(to: router, services: services)
        WebPageRoutes.register(on: router, logger: services.logger)
    }

    private static func issueDevelopmentToken(_ request: Request, context: ChatRequestContext, authority: TokenAuthority) async -> Response {
        struct TokenRequest: Decodable {
            var user: String
            var name: String?
            var rooms: [String]?
            var admin: Bool?
            /// Seconds; short ones let tests watch a session outlive its first token.
            var lifetime: Int?
        }
        guard let body = try? await request.body.collect(upTo: 16 * 1024),
            let parsed = try? JSONDecoder().decode(TokenRequest.self, from: Data(buffer: body))
        else { return errorResponse(.badRequest, .badRequest, #"send {"user":"<id>"}"#) }
        guard UserID.isValid(parsed.user) else { return errorResponse(.badRequest, .badRequest, "user must be 1 to \(UserID.maxLength) characters") }
        let lifetime = parsed.lifetime ?? 24 * 3600
        guard (1...(24 * 3600)).contains(lifetime) else { return errorResponse(.badRequest, .badRequest, "lifetime must be 1 to 86400 seconds") }
        do {
            let token = try await authority.issue(
                user: parsed.user, name: parsed.name, rooms: parsed.rooms, admin: parsed.admin ?? false, lifetime: TimeInterval(lifetime))
            var writer = JSONWriter()
            writer.add("token", token)
            return jsonResponse(.ok, writer.finish())
        } catch {
            return errorResponse(.internalServerError, .internal, "could not sign a token")
        }
    }

    private static func publish(_ request: Request, context: ChatRequestContext, services: GatewayServices) async -> Response {
        struct PublishRequest: Decodable {
            var cmid: String
            var body: String
            var from: String
        }
        let identity: ChatIdentity
        do throws(TokenAuthority.Refusal) {
            identity = try await services.authority.verify(request: request)
        } catch {
            return errorResponse(.unauthorized, .unauthorized, error.reason)
        }
        guard identity.isAdmin else { return errorResponse(.forbidden, .forbidden, "publishing needs a token with the claim admin: true") }
        guard let room = context.parameters.get("room").flatMap(RoomName.init) else {
            return errorResponse(.badRequest, .badRequest, "invalid room name: use 1 to 128 characters of A-Z a-z 0-9 . _ -")
        }
        guard let body = try? await request.body.collect(upTo: services.configuration.maxFrameBytes) else {
            return errorResponse(.contentTooLarge, .tooLarge, "request body over \(services.configuration.maxFrameBytes) bytes")
        }
        guard let parsed = try? JSONDecoder().decode(PublishRequest.self, from: Data(buffer: body)) else {
            return errorResponse(.badRequest, .badRequest, #"send {"cmid":"...","body":"...","from":"<user id>"}"#)
        }
        let limits = services.configuration.limits
        guard (1...limits.maxClientMessageIDLength).contains(parsed.cmid.count) else {
            return errorResponse(.badRequest, .badRequest, "cmid must be 1 to \(limits.maxClientMessageIDLength) characters")
        }
        guard !parsed.body.isEmpty else { return errorResponse(.badRequest, .badRequest, "body must not be empty") }
        guard parsed.body.utf8.count <= limits.maxBodyBytes else {
            return errorResponse(.contentTooLarge, .tooLarge, "body is over \(limits.maxBodyBytes) bytes")
        }
        guard !parsed.from.isEmpty else { return errorResponse(.badRequest, .badRequest, "from must not be empty") }
        do {
            try await services.fanout.prepare(room: room)
        } catch {
            return errorResponse(.serviceUnavailable, .unavailable, "Kafka is not reachable; retry later")
        }
        do throws(ProtocolError) {
            // On the operator's authority: the API posts as any user, in rooms of any kind.
            let pending = try await services.ingress.enqueuePost(
                room: room, user: parsed.from, cmid: parsed.cmid, body: parsed.body, authority: .operator)
            let post = try await services.ingress.acknowledge(pending, room: room, user: parsed.from, cmid: parsed.cmid)
            var writer = JSONWriter()
            writer.add("msgId", post.msgId)
            writer.add("cursor", post.cursor.description)
            return jsonResponse(.created, writer.finish())
        } catch {
            return errorResponse(status(for: error.code), error.code, error.message)
        }
    }

    private static func history(_ request: Request, context: ChatRequestContext, services: GatewayServices) async -> Response {
        let identity: ChatIdentity
        do throws(TokenAuthority.Refusal) {
            identity = try await services.authority.verify(request: request)
        } catch {
            return errorResponse(.unauthorized, .unauthorized, error.reason)
        }
        guard let room = context.parameters.get("room").flatMap(RoomName.init) else {
            return errorResponse(.badRequest, .badRequest, "invalid room name: use 1 to 128 characters of A-Z a-z 0-9 . _ -")
        }
        do throws(ProtocolError) {
            try await services.requireReadAccess(identity, to: room)
        } catch {
            return errorResponse(status(for: error.code), error.code, error.message)
        }
        let query = request.uri.queryParameters
        var before: ChatCursor?
        if let text = query.get("before"), !text.isEmpty {
            guard let cursor = ChatCursor(text) else { return errorResponse(.badRequest, .badRequest, "before is not a valid cursor") }
            before = cursor
        }
        var limit = services.configuration.limits.defaultHistoryLimit
        if let text = query.get("limit") {
            guard let value = Int(text), (1...services.configuration.limits.maxHistoryLimit).contains(value) else {
                return errorResponse(.badRequest, .badRequest, "limit must be 1 to \(services.configuration.limits.maxHistoryLimit)")
            }
            limit = value
        }
        do throws(ProtocolError) {
            let page = try await services.historyPage(room: room, before: before, limit: limit)
            return jsonResponse(.ok, services.historyFrame(id: nil, room: room, page: page))
        } catch {
            return errorResponse(status(for: error.code), error.code, error.message)
        }
    }

    /// The HTTP status of a request refused with `code`: a retry later can succeed for
    /// `unavailable` and `limit`, never for a client's mistake.
    static func status(for code: ErrorCode) -> HTTPResponse.Status {
        switch code {
        case .unavailable: .serviceUnavailable
        case .limit, .rateLimited: .tooManyRequests
        case .internal: .internalServerError
        case .tooLarge: .contentTooLarge
        case .forbidden, .notMember: .forbidden
        case .notFound: .notFound
        default: .badRequest
        }
    }

    static func jsonResponse(_ status: HTTPResponse.Status, _ json: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json)))
    }

    static func errorResponse(_ status: HTTPResponse.Status, _ code: ErrorCode, _ message: String) -> Response {
        jsonResponse(status, ServerFrame.error(ProtocolError(code, message)))
    }
}
