import ChatDomain
import ChatFanout
import Foundation
import HTTPTypes
import Hummingbird

/// The admin API of rooms and members: an operator (a token with `admin: true`) creates rooms
/// and manages members. Events are written on the operator's authority (`authority: operator`,
/// `from` the token's `sub`), which bypasses roles, so rooms without an owner can be managed.
extension GatewayRoutes {
    static func addRoomRoutes(to router: Router<ChatRequestContext>, services: GatewayServices) {
        router.post("/v1/rooms") { request, context -> Response in
            await createRoom(request, context: context, services: services)
        }
        router.get("/v1/rooms/:room/members") { request, context -> Response in
            await roomAdmin(request, context: context, services: services) { _, room in
                do throws(ProtocolError) {
                    let state = try await services.roomState(room)
                    return jsonResponse(.ok, ServerFrame.members(id: nil, room: room, state: state))
                } catch {
                    return errorResponse(status(for: error.code), error.code, error.message)
                }
            }
        }
        router.put("/v1/rooms/:room/members/:user") { request, context -> Response in
            await putMember(request, context: context, services: services)
        }
        router.delete("/v1/rooms/:room/members/:user") { request, context -> Response in
            await deleteMember(request, context: context, services: services)
        }
    }

    private static func createRoom(_ request: Request, context: ChatRequestContext, services: GatewayServices) async -> Response {
        struct CreateRequest: Decodable {
            var room: String
            var kind: String
            var title: String?
            var owner: String?
            var members: [String]?
        }
        let admin: ChatIdentity
        switch await verifyAdmin(request, services: services) {
        case .passed(let identity): admin = identity
        case .refused(let response): return response
        }
        let parsed: CreateRequest
        switch await decodeBody(
            CreateRequest.self, request, services: services,
            usage: #"send {"room":"...","kind":"public"|"private","title"?,"owner"?,"members"?:[...]}"#)
        {
        case .passed(let body): parsed = body
        case .refused(let response): return response
        }
        guard let room = RoomName(parsed.room) else { return invalidRoom() }
        guard let kind = RoomKind(rawValue: parsed.kind), kind != .dm else {
            return errorResponse(.badRequest, .badRequest, "kind must be public or private")
        }
        if let title = parsed.title, title.utf8.count > MembershipRule.maxTitleBytes {
            return errorResponse(.badRequest, .badRequest, "title is over \(MembershipRule.maxTitleBytes) bytes")
        }
        let members = parsed.members ?? []
        guard members.count <= MembershipRule.maxInitialMembers else {
            return errorResponse(.badRequest, .badRequest, "at most \(MembershipRule.maxInitialMembers) members; invite more one by one")
        }
        guard members.allSatisfy(UserID.isValid), parsed.owner.map(UserID.isValid) ?? true else {
            return errorResponse(.badRequest, .badRequest, "user ids must be 1 to \(UserID.maxLength) characters")
        }
        let action = MembershipAction.create(kind: kind, title: parsed.title, owner: parsed.owner, members: members)
        return await write(action, room: room, by: admin, status: .created, services: services)
    }

    private static func putMember(_ request: Request, context: ChatRequestContext, services: GatewayServices) async -> Response {
        struct MemberRequest: Decodable {
            var role: String?
        }
        return await roomAdmin(request, context: context, services: services) { admin, room, user in
            let parsed: MemberRequest
            switch await decodeBody(
                MemberRequest.self, request, services: services, usage: #"send nothing, or {"role":"owner"|"moderator"|"member"}"#, emptyIsValid: true
            ) {
            case .passed(let body): parsed = body
            case .refused(let response): return response
            }
            var role: MemberRole?
            if let text = parsed.role {
                guard let given = MemberRole(rawValue: text) else {
                    return errorResponse(.badRequest, .badRequest, "role must be owner, moderator or member")
                }
                role = given
            }
            let state: RoomState?
            do throws(ProtocolError) {
                state = try await services.roomState(room)
            } catch {
                return errorResponse(status(for: error.code), error.code, error.message)
            }
            let action: MembershipAction
            if let current = state?.role(of: user) {
                // Already a member: only a different role is a change.
                guard let role, role != current else { return memberResponse(room: room, user: user, role: current, cursor: nil) }
                action = .setRole(user: user, role: role)
            } else {
                action = .add(user: user, role: role ?? .member)
            }
            return await write(action, room: room, by: admin, status: .ok, services: services, user: user, role: role ?? .member)
        }
    }

    private static func deleteMember(_ request: Request, context: ChatRequestContext, services: GatewayServices) async -> Response {
        await roomAdmin(request, context: context, services: services) { admin, room, user in
            let query = request.uri.queryParameters
            let action: MembershipAction
            switch query.get("ban") {
            case nil, "false":
                guard query.get("until") == nil else { return errorResponse(.badRequest, .badRequest, "until goes with ban=true") }
                action = .remove(user: user)
            case "true":
                var until: Int64?
                if let text = query.get("until") {
                    guard let value = Int64(text), (0...ClientFrameParser.maxUntil).contains(value) else {
                        return errorResponse(
                            .badRequest, .badRequest, "until must be a time in ms since the epoch, 0 to \(ClientFrameParser.maxUntil)")
                    }
                    until = value
                }
                action = .ban(user: user, until: until)
            default:
                return errorResponse(.badRequest, .badRequest, "ban must be true or false")
            }
            return await write(action, room: room, by: admin, status: .ok, services: services, user: user)
        }
    }

    /// Writes `action` on the operator's authority and answers with its cursor once durable.
    private static func write(
        _ action: MembershipAction, room: RoomName, by admin: ChatIdentity, status: HTTPResponse.Status, services: GatewayServices,
        user: String? = nil,
        role: MemberRole? = nil
    ) async -> Response {
        let event = RoomEvent(room: room, from: admin.userID, timestamp: WallClock.milliseconds(), kind: .membership(action), authority: .operator)
        do throws(ProtocolError) {
            let pending = try await services.ingress.enqueueMembership(event)
            let (position, _) = try await services.ingress.acknowledge(pending)
            let cursor = ChatCursor(epoch: services.epoch, partition: position.partition, offset: position.offset)
            if let user { return memberResponse(room: room, user: user, role: role, cursor: cursor) }
            var writer = JSONWriter()
            writer.add("room", room.value)
            writer.add("cursor", cursor.description)
            return jsonResponse(status, writer.finish())
        } catch {
            return errorResponse(Self.status(for: error.code), error.code, error.message)
        }
    }

    private static func memberResponse(room: RoomName, user: String, role: MemberRole?, cursor: ChatCursor?) -> Response {
        var writer = JSONWriter()
        writer.add("room", room.value)
        writer.add("user", user)
        writer.add("role", role?.rawValue)
        writer.add("cursor", cursor?.description)
        return jsonResponse(.ok, writer.finish())
    }

    /// What an admin request checks first, or the response refusing it.
    private enum Checked<Value> {
        case passed(Value)
        case refused(Response)
    }

    /// Runs `body` for an admin request on `/v1/rooms/:room/members/:user`.
    private static func roomAdmin(
        _ request: Request, context: ChatRequestContext, services: GatewayServices, _ body: (ChatIdentity, RoomName, String) async -> Response
    ) async -> Response {
        await roomAdmin(request, context: context, services: services) { admin, room in
            // Path parameters arrive percent-encoded.
            guard let raw = context.parameters.get("user"), let user = raw.removingPercentEncoding, UserID.isValid(user) else {
                return errorResponse(.badRequest, .badRequest, "user must be 1 to \(UserID.maxLength) characters")
            }
            return await body(admin, room, user)
        }
    }

    /// Runs `body` for an admin request on `/v1/rooms/:room/...`.
    private static func roomAdmin(
        _ request: Request, context: ChatRequestContext, services: GatewayServices, _ body: (ChatIdentity, RoomName) async -> Response
    ) async -> Response {
        let admin: ChatIdentity
        switch await verifyAdmin(request, services: services) {
        case .passed(let identity): admin = identity
        case .refused(let response): return response
        }
        guard let room = context.parameters.get("room").flatMap(RoomName.init) else { return invalidRoom() }
        return await body(admin, room)
    }

    /// The request's identity when its token is valid (else 401) and an admin's (else 403).
    private static func verifyAdmin(_ request: Request, services: GatewayServices) async -> Checked<ChatIdentity> {
        let identity: ChatIdentity
        do throws(TokenAuthority.Refusal) {
            identity = try await services.authority.verify(request: request)
        } catch {
            return .refused(errorResponse(.unauthorized, .unauthorized, error.reason))
        }
        guard identity.isAdmin else {
            return .refused(errorResponse(.forbidden, .forbidden, "managing rooms needs a token with the claim admin: true"))
        }
        return .passed(identity)
    }

    /// The request's JSON body, bounded like the WebSocket's frames (413 beyond); 400 when it is
    /// not `Body`'s shape. An empty body stands for `{}` when `emptyIsValid`.
    private static func decodeBody<Body: Decodable>(
        _ type: Body.Type, _ request: Request, services: GatewayServices, usage: String, emptyIsValid: Bool = false
    ) async -> Checked<Body> {
        let limit = services.configuration.maxFrameBytes
        guard let buffer = try? await request.body.collect(upTo: limit) else {
            return .refused(errorResponse(.contentTooLarge, .tooLarge, "request body over \(limit) bytes"))
        }
        var data = Data(buffer: buffer)
        if emptyIsValid, data.allSatisfy({ $0 == 0x20 || $0 == 0x0a || $0 == 0x0d || $0 == 0x09 }) { data = Data("{}".utf8) }
        guard let body = try? JSONDecoder().decode(Body.self, from: data) else { return .refused(errorResponse(.badRequest, .badRequest, usage)) }
        return .passed(body)
    }

    private static func invalidRoom() -> Response {
        errorResponse(.badRequest, .badRequest, "invalid room name: use 1 to 128 characters of A-Z a-z 0-9 . _ -")
    }
}
