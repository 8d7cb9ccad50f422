/// The frames the server sends, encoded as protocol v1 JSON text.
public enum ServerFrame {
    public static func joined(id: RequestID?, room: RoomName, cursor: ChatCursor, recovered: Bool, unread: Int? = nil) -> String {
        var writer = JSONWriter()
        writer.add("op", "joined")
        writer.add("id", id)
        writer.add("room", room.value)
        writer.add("cursor", cursor.description)
        writer.add("recovered", recovered)
        writer.add("epoch", cursor.epoch.description)
        if let unread { writer.add("unread", unread) }
        return writer.finish()
    }

    public static func left(id: RequestID?, room: RoomName) -> String {
        var writer = JSONWriter()
        writer.add("op", "left")
        writer.add("id", id)
        writer.add("room", room.value)
        return writer.finish()
    }

    public static func ack(id: RequestID?, room: RoomName, cmid: String?, msgId: String, cursor: ChatCursor, timestamp: Int64) -> String {
        var writer = JSONWriter()
        writer.add("op", "ack")
        writer.add("id", id)
        writer.add("room", room.value)
        writer.add("cmid", cmid)
        writer.add("msgId", msgId)
        writer.add("cursor", cursor.description)
        writer.add("ts", timestamp)
        return writer.finish()
    }

    /// The `ack` of a membership change (`create`, `invite`, `kick`, `ban`, `unban`, `mute`, `role`):
    /// the cursor of its event in the room's log.
    public static func ack(id: RequestID?, room: RoomName, cursor: ChatCursor, timestamp: Int64) -> String {
        var writer = JSONWriter()
        writer.add("op", "ack")
        writer.add("id", id)
        writer.add("room", room.value)
        writer.add("cursor", cursor.description)
        writer.add("ts", timestamp)
        return writer.finish()
    }

    /// The `members` reply (also the body of `GET /v1/rooms/{room}/members`): a room without a
    /// state (never created) is public and lists nobody.
    public static func members(id: RequestID?, room: RoomName, state: RoomState?) -> String {
        var writer = JSONWriter()
        writer.add("op", "members")
        writer.add("id", id)
        writer.add("room", room.value)
        writer.add("kind", (state?.kind ?? .public).rawValue)
        if let title = state?.title { writer.add("title", title) }
        let items = (state?.memberList ?? []).map { member in
            var item = JSONWriter()
            item.add("user", member.user)
            item.add("role", member.role.rawValue)
            return item.finish()
        }
        writer.add("members", rawJSON: "[" + items.joined(separator: ",") + "]")
        return writer.finish()
    }

    /// The `dm` reply: the pair's one room.
    public static func dm(id: RequestID?, room: RoomName) -> String {
        var writer = JSONWriter()
        writer.add("op", "dm")
        writer.add("id", id)
        writer.add("room", room.value)
        return writer.finish()
    }

    /// A `message` event; `message(...)` objects inside `history` replies have the same shape.
    public static func message(_ message: ChatMessage, cursor: ChatCursor) -> String {
        var writer = JSONWriter()
        writer.add("op", "message")
        writer.add("room", message.room.value)
        writer.add("msgId", message.msgId)
        writer.add("cmid", message.cmid)
        writer.add("from", message.from)
        writer.add("body", message.body)
        writer.add("ts", message.timestamp)
        writer.add("cursor", cursor.description)
        if message.edited { writer.add("edited", true) }
        return writer.finish()
    }

    public static func edited(room: RoomName, msgId: String, body: String, from: String, timestamp: Int64, cursor: ChatCursor) -> String {
        var writer = JSONWriter()
        writer.add("op", "edited")
        writer.add("room", room.value)
        writer.add("msgId", msgId)
        writer.add("body", body)
        writer.add("from", from)
        writer.add("ts", timestamp)
        writer.add("cursor", cursor.description)
        return writer.finish()
    }

    public static func deleted(room: RoomName, msgId: String, from: String, timestamp: Int64, cursor: ChatCursor) -> String {
        var writer = JSONWriter()
        writer.add("op", "deleted")
        writer.add("room", room.value)
        writer.add("msgId", msgId)
        writer.add("from", from)
        writer.add("ts", timestamp)
        writer.add("cursor", cursor.description)
        return writer.finish()
    }

    /// The frame a subscriber receives for a logged event, or `nil` for an event subscribers do not see.
    public static func event(_ logged: LoggedRoomEvent, epoch: LogEpoch) -> String? {
        let cursor = ChatCursor(epoch: epoch, partition: logged.partition, offset: logged.offset)
        let event = logged.event
        switch event.kind {
        case .message(let cmid, let body):
            let message = ChatMessage(
                room: event.room, msgId: logged.messageID, cmid: cmid, from: event.from, body: body,
                timestamp: event.timestamp, offset: logged.offset)
            return Self.message(message, cursor: cursor)
        case .edit(let msgId, let body):
            return edited(room: event.room, msgId: msgId, body: body, from: event.from, timestamp: event.timestamp, cursor: cursor)
        case .delete(let msgId):
            return deleted(room: event.room, msgId: msgId, from: event.from, timestamp: event.timestamp, cursor: cursor)
        case .membership(let action):
            return member(action, room: event.room, by: event.from, timestamp: event.timestamp, cursor: cursor)
        }
    }

    /// A `member` event: `change` is `added`, `removed`, `banned`, `unbanned`, `muted` or `role`.
    /// A create has no `member` event (`nil`): its members are listed by `members`.
    public static func member(_ action: MembershipAction, room: RoomName, by actor: String, timestamp: Int64, cursor: ChatCursor) -> String? {
        let change: String
        var role: MemberRole?
        var until: Int64?
        switch action {
        case .create: return nil
        case .add(_, let added):
            (change, role) = ("added", added)
        case .remove: change = "removed"
        case .setRole(_, let given):
            (change, role) = ("role", given)
        case .ban(_, let end):
            (change, until) = ("banned", end)
        case .unban: change = "unbanned"
        case .mute(_, let end):
            (change, until) = ("muted", end)
        }
        var writer = JSONWriter()
        writer.add("op", "member")
        writer.add("room", room.value)
        writer.add("user", action.target ?? "")
        writer.add("change", change)
        writer.add("role", role?.rawValue)
        if let until { writer.add("until", until) }
        writer.add("by", actor)
        writer.add("ts", timestamp)
        writer.add("cursor", cursor.description)
        return writer.finish()
    }

    public static func history(id: RequestID?, room: RoomName, messages: [ChatMessage], epoch: LogEpoch, partition: Int32, more: Bool) -> String {
        var writer = JSONWriter()
        writer.add("op", "history")
        writer.add("id", id)
        writer.add("room", room.value)
        let items = messages.map { message(historyItem: $0, epoch: epoch, partition: partition) }
        writer.add("messages", rawJSON: "[" + items.joined(separator: ",") + "]")
        writer.add("more", more)
        return writer.finish()
    }

    /// A history entry (also the body of the HTTP history API).
    public static func message(historyItem message: ChatMessage, epoch: LogEpoch, partition: Int32) -> String {
        Self.message(message, cursor: ChatCursor(epoch: epoch, partition: partition, offset: message.offset))
    }

    public static func pong(id: RequestID?) -> String {
        var writer = JSONWriter()
        writer.add("op", "pong")
        writer.add("id", id)
        return writer.finish()
    }

    /// The reply to `auth`: `exp` is the new token's expiry in seconds since the epoch (its `exp`
    /// claim, as in the JWT).
    public static func authed(id: RequestID?, expiresAt seconds: Int64) -> String {
        var writer = JSONWriter()
        writer.add("op", "authed")
        writer.add("id", id)
        writer.add("exp", seconds)
        return writer.finish()
    }

    public static func error(_ error: ProtocolError) -> String {
        var writer = JSONWriter()
        writer.add("op", "error")
        writer.add("id", error.id)
        writer.add("code", error.code.rawValue)
        writer.add("message", error.message)
        return writer.finish()
    }
}
