import NIOWebSocket

/// Why the server ends a session, and the close frame it sends for it.
enum SessionCloseReason: Equatable, Sendable {
    /// The node is shutting down (1001).
    case goingAway
    /// The client does not read fast enough (4008).
    case tooSlow
    /// The client kept sending over its rate (4029).
    case rateLimited
    /// The session's token expired and no fresh one came (4001).
    case tokenExpired

    var code: WebSocketErrorCode {
        switch self {
        case .goingAway: .goingAway
        case .tooSlow: WebSocketErrorCode(codeNumber: 4008)
        case .rateLimited: WebSocketErrorCode(codeNumber: 4029)
        case .tokenExpired: WebSocketErrorCode(codeNumber: 4001)
        }
    }

    var reason: String {
        switch self {
        case .goingAway: "server shutting down: reconnect and resume with your cursor"
        case .tooSlow: "too slow: reconnect and resume with your cursor"
        case .rateLimited: "rate limit exceeded repeatedly"
        case .tokenExpired: "token expired: reconnect with a fresh token and resume with your cursor"
        }
    }
}
