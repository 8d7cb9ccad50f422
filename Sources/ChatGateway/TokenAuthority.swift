import ChatDomain
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import JWTKit
import NIOHTTP1

/// Verifies client JWTs (HS256 with a shared secret, or RS256 with a public key) and, in
/// development only, issues them.
public struct TokenAuthority: Sendable {
    /// How tokens are checked.
    public enum Mode: Sendable {
        /// HS256 with a secret from configuration; no tokens are issued.
        case sharedSecret(String)
        /// RS256 with a PEM public key; no tokens are issued.
        case publicKey(String)
        /// A random secret made at start-up; `POST /v1/dev/token` issues tokens signed with it.
        case development
    }

    let keys: JWTKeyCollection
    /// `POST /v1/dev/token` exists (development mode only).
    public let issuesTokens: Bool
    /// Tokens can be signed here (HMAC modes), e.g. by `chatctl token` or tests.
    public let canSign: Bool
    /// When set, a token's `aud` must contain it.
    public let audience: String?
    /// When set, a token's `iss` must equal it.
    public let issuer: String?

    /// Longest token accepted, in bytes: far beyond any real claim set, well below header limits.
    public static let maxTokenBytes = 8 * 1024

    public init(mode: Mode, audience: String? = nil, issuer: String? = nil) async throws {
        let keys = JWTKeyCollection()
        switch mode {
        case .sharedSecret(let secret):
            if let weakness = Self.weakness(ofSecret: secret) { throw ConfigurationError(description: weakness) }
            await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
            issuesTokens = false
            canSign = true
        case .publicKey(let pem):
            await keys.add(rsa: try Insecure.RSA.PublicKey(pem: pem), digestAlgorithm: .sha256)
            issuesTokens = false
            canSign = false
        case .development:
            let secret = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined()
            await keys.add(hmac: HMACKey(from: secret), digestAlgorithm: .sha256)
            issuesTokens = true
            canSign = true
        }
        self.keys = keys
        self.audience = audience.flatMap { $0.isEmpty ? nil : $0 }
        self.issuer = issuer.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Why a token was refused, for the 401 response body.
    public struct Refusal: Error, Sendable {
        public var reason: String
    }

    public func verify(_ token: String) async throws(Refusal) -> ChatIdentity {
        guard token.utf8.count <= Self.maxTokenBytes else { throw Refusal(reason: "token over \(Self.maxTokenBytes) bytes") }
        let claims: ChatClaims
        do {
            // In a task of its own: JWTKit's verification goes through deep generic async frames, and
            // a task keeps every allocator slab it ever grew until it ends. Verified inline, a
            // WebSocket connection's task would carry those slabs for the connection's lifetime.
            let keys = self.keys
            claims = try await Task { try await keys.verify(token, as: ChatClaims.self) }.value
        } catch let error as JWTError {
            throw Refusal(reason: error.errorType == .claimVerificationFailure ? "token expired" : "invalid token")
        } catch {
            throw Refusal(reason: "invalid token")
        }
        guard !claims.sub.value.isEmpty else { throw Refusal(reason: "token has an empty sub claim") }
        if let audience, claims.aud?.value.contains(audience) != true {
            throw Refusal(reason: "token is not for this audience (aud must include \(audience))")
        }
        if let issuer, claims.iss?.value != issuer {
            throw Refusal(reason: "token is not from the expected issuer (iss must be \(issuer))")
        }
        if let rooms = claims.rooms {
            // Patterns are matched on every join: bound what one token can make the server do.
            guard rooms.count <= RoomPattern.maxCount else {
                throw Refusal(reason: "token has \(rooms.count) rooms patterns; at most \(RoomPattern.maxCount) are accepted")
            }
            guard rooms.allSatisfy({ $0.utf8.count <= RoomPattern.maxLength }) else {
                throw Refusal(reason: "token has a rooms pattern over \(RoomPattern.maxLength) bytes")
            }
        }
        return ChatIdentity(
            userID: claims.sub.value, name: claims.name, roomPatterns: claims.rooms?.map(RoomPattern.init), isAdmin: claims.admin ?? false,
            expiresAt: claims.exp.value)
    }

    /// Finds the token of a request: `Authorization: Bearer <jwt>`, the WebSocket subprotocol
    /// `bearer.<jwt>`, or the `token` query parameter, in that order.
    public func verify(request: Request) async throws(Refusal) -> ChatIdentity {
        try await verify(
            found: Self.token(
                authorization: request.headers[.authorization], subprotocolFields: request.headers[values: .secWebSocketProtocol],
                uri: request.uri))
    }

    /// ``verify(request:)`` for the head of a WebSocket upgrade request.
    func verify(upgrade head: HTTPRequestHead) async throws(Refusal) -> ChatIdentity {
        try await verify(
            found: Self.token(
                authorization: head.headers.first(name: "authorization"), subprotocolFields: head.headers[Self.subprotocolHeader], uri: URI(head.uri))
        )
    }

    private func verify(found token: String?) async throws(Refusal) -> ChatIdentity {
        guard let token else {
            throw Refusal(reason: "missing token: send Authorization: Bearer <jwt>, Sec-WebSocket-Protocol: bearer.<jwt> or ?token=<jwt>")
        }
        return try await verify(token)
    }

    static func token(authorization: String?, subprotocolFields: [String], uri: URI) -> String? {
        if let authorization, authorization.lowercased().hasPrefix("bearer ") {
            return String(authorization.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
        }
        if let subprotocol = bearerSubprotocol(in: subprotocolFields) {
            return String(subprotocol.dropFirst(bearerSubprotocolPrefix.count))
        }
        return uri.queryParameters.get("token")
    }

    static let bearerSubprotocolPrefix = "bearer."
    static let subprotocolHeader = "Sec-WebSocket-Protocol"

    /// The `bearer.<jwt>` entry of `Sec-WebSocket-Protocol` (its field values), which the upgrade
    /// response must select: a browser fails a connection whose offered subprotocol is not echoed.
    static func bearerSubprotocol(in fields: [String]) -> String? {
        for field in fields {
            for entry in field.split(separator: ",") {
                let name = entry.trimmingCharacters(in: .whitespaces)
                if name.hasPrefix(bearerSubprotocolPrefix), name.count > bearerSubprotocolPrefix.count { return name }
            }
        }
        return nil
    }

    /// Signs a token (HMAC modes only: with a public key the server cannot sign). Without an
    /// explicit `audience` / `issuer` it carries the configured ones, so the node accepts it.
    public func issue(
        user: String, name: String? = nil, rooms: [String]? = nil, admin: Bool = false, lifetime: TimeInterval = 24 * 3600,
        audience: String? = nil, issuer: String? = nil
    ) async throws -> String {
        let claims = ChatClaims(
            sub: SubjectClaim(value: user), exp: ExpirationClaim(value: Date().addingTimeInterval(lifetime)),
            aud: (audience ?? self.audience).map { AudienceClaim(value: [$0]) }, iss: (issuer ?? self.issuer).map { IssuerClaim(value: $0) },
            name: name, rooms: rooms, admin: admin ? true : nil)
        return try await keys.sign(claims)
    }
}

/// A token setting that cannot work; the message says what to change.
public struct ConfigurationError: Error, CustomStringConvertible {
    public var description: String
}

/// The claims of a chat token.
struct ChatClaims: JWTPayload {
    var sub: SubjectClaim
    var exp: ExpirationClaim
    var aud: AudienceClaim?
    var iss: IssuerClaim?
    var name: String?
    var rooms: [String]?
    var admin: Bool?

    func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
    }
}
