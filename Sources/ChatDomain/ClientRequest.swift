/// A request of client protocol v1.
public enum ClientRequest: Sendable, Equatable {
    case join(room: RoomName, since: ChatCursor?)
    case leave(room: RoomName)
    case send(room: RoomName, cmid: String, body: String)
    case edit(room: RoomName, msgId: String, body: String)
    case delete(room: RoomName, msgId: String)
    case history(room: RoomName, before: ChatCursor?, limit: Int)
    case typing(room: RoomName)
    case read(room: RoomName, cursor: ChatCursor)
    case presence(room: RoomName)
    case ping
    /// A fresh token for the session's user, so it outlives the token it connected with.
    case auth(token: String)
    /// `create`: a public or private room owned by the sender.
    case create(room: RoomName, kind: RoomKind, title: String?)
    /// `invite`, `kick`, `ban`, `unban`, `mute` and `role`: the change to write, on the sender's
    /// authority (never a `create`: that is ``create(room:kind:title:)``).
    case membership(room: RoomName, action: MembershipAction)
    /// `members`: who is in the room, with their roles.
    case members(room: RoomName)
    /// `dm`: opens (or finds) the sender's direct-message room with `user`.
    case dm(user: String)

    /// The room the request is about, if any.
    public var room: RoomName? {
        switch self {
        case .join(let room, _), .leave(let room), .send(let room, _, _), .edit(let room, _, _), .delete(let room, _),
            .history(let room, _, _), .typing(let room), .read(let room, _), .presence(let room), .create(let room, _, _),
            .membership(let room, _), .members(let room):
            room
        case .ping, .auth, .dm:
            nil
        }
    }
}

/// A parsed client frame: its request and the `id` to echo.
public struct ClientFrame: Sendable, Equatable {
    public var id: RequestID?
    public var request: ClientRequest

    public init(id: RequestID?, request: ClientRequest) {
        self.id = id
        self.request = request
    }
}

/// Limits a request is checked against.
public struct RequestLimits: Sendable {
    /// Largest `body` in UTF-8 bytes.
    public var maxBodyBytes: Int = 4096
    public var maxClientMessageIDLength: Int = 64
    public var maxHistoryLimit: Int = 200
    public var defaultHistoryLimit: Int = 50

    public init() {}
}
