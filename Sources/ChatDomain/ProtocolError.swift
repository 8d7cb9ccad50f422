/// The error codes of client protocol v1.
public enum ErrorCode: String, Sendable, Hashable {
    case badRequest = "bad_request"
    /// A token was missing, invalid, expired or for another user.
    case unauthorized
    case forbidden
    case notJoined = "not_joined"
    case tooLarge = "too_large"
    case rateLimited = "rate_limited"
    /// A per-session, per-user or per-node bound was reached; the message names it.
    case limit
    case unavailable
    case `internal`
    /// An `edit` or `delete` of a msgId that does not exist or was deleted.
    case notFound = "not_found"
    /// A private room or DM the user is not a member of.
    case notMember = "not_member"
}

/// An `error` reply: the request it answers (when known), a code and a human readable message.
public struct ProtocolError: Error, Sendable, Equatable {
    public var id: RequestID?
    public var code: ErrorCode
    public var message: String

    public init(id: RequestID? = nil, _ code: ErrorCode, _ message: String) {
        self.id = id
        self.code = code
        self.message = message
    }
}

/// The `id` of a request, echoed as it came: a JSON string or a JSON number.
public enum RequestID: Sendable, Hashable {
    case string(String)
    /// The number's JSON text, so that it is echoed exactly.
    case number(String)
}
