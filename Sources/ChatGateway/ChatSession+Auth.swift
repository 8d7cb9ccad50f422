import ChatDomain
import Foundation
import Synchronization

/// Who a session acts as: the identity of its token, which an `auth` request with a fresh token
/// for the same user replaces. The keep-alive tick of the session's event loop ends the session
/// once that identity's expiry has passed (``ChatSessionHandler/keepAlive(now:wallClock:interval:)``).
final class SessionAuthentication: Sendable {
    private let state: Mutex<ChatIdentity>

    init(_ identity: ChatIdentity) {
        state = Mutex(identity)
    }

    var identity: ChatIdentity { state.withLock { $0 } }

    /// Whether the current identity's token has expired at `now`.
    func hasExpired(at now: Date) -> Bool {
        state.withLock { identity in identity.expiresAt.map { $0 <= now } ?? false }
    }

    /// Takes the identity of a fresh token; `false` (and nothing changes) when it is another user's.
    func refresh(_ fresh: ChatIdentity) -> Bool {
        state.withLock { identity in
            guard fresh.userID == identity.userID else { return false }
            identity = fresh
            return true
        }
    }
}

extension ChatSession {
    /// `auth`: a fresh token for the same user moves the session's expiry to the new token's.
    func authenticate(id: RequestID?, token: String) async {
        let fresh: ChatIdentity
        do throws(TokenAuthority.Refusal) {
            fresh = try await services.authority.verify(token)
        } catch {
            return reply(ProtocolError(id: id, .unauthorized, error.reason))
        }
        guard authentication.refresh(fresh) else {
            return reply(ProtocolError(id: id, .unauthorized, "the token is for another user: a session stays with the user it connected as"))
        }
        reply(ServerFrame.authed(id: id, expiresAt: Int64((fresh.expiresAt ?? .distantFuture).timeIntervalSince1970.rounded(.down))))
    }
}
