import ChatDomain
import Foundation
import NIOCore
import Synchronization

/// Who a session acts as: the identity of its token, which an `auth` request with a fresh token
/// for the same user replaces, and the one timer that ends the session when that token expires.
final class SessionAuthentication: Sendable {
    private struct State {
        var identity: ChatIdentity
        var expiryCheck: Scheduled<Void>?
        var ended = false
    }

    private let state: Mutex<State>

    init(_ identity: ChatIdentity) {
        state = Mutex(State(identity: identity))
    }

    var identity: ChatIdentity { state.withLock { $0.identity } }

    /// Takes the identity of a fresh token; `false` (and nothing changes) when it is another user's.
    func refresh(_ fresh: ChatIdentity) -> Bool {
        state.withLock { state in
            guard fresh.userID == state.identity.userID else { return false }
            state.identity = fresh
            return true
        }
    }

    /// Calls `expired` on `eventLoop` once the current identity's expiry has passed; a refresh
    /// meanwhile moves the check to the new expiry instead.
    func scheduleExpiry(on eventLoop: any EventLoop, expired: @escaping @Sendable () -> Void) {
        state.withLock { state in
            guard !state.ended, let expiresAt = state.identity.expiresAt else { return }
            let delay = max(0, expiresAt.timeIntervalSinceNow)
            state.expiryCheck = eventLoop.scheduleTask(in: .nanoseconds(Int64(min(delay, 1e9) * 1e9))) { [self] in
                let stillValid = self.state.withLock { state in
                    guard let expiresAt = state.identity.expiresAt else { return true }
                    return expiresAt.timeIntervalSinceNow > 0
                }
                if stillValid {
                    self.scheduleExpiry(on: eventLoop, expired: expired)
                } else {
                    expired()
                }
            }
        }
    }

    /// Cancels the expiry check (the session ended).
    func end() {
        let check = state.withLock { state in
            state.ended = true
            defer { state.expiryCheck = nil }
            return state.expiryCheck
        }
        check?.cancel()
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
