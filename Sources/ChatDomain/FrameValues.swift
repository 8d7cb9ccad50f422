/// The ops of client protocol v1.
enum FrameOp: CaseIterable {
    case join, leave, send, edit, delete, history, typing, read, presence, ping, auth
    case create, invite, kick, ban, unban, mute, role, members, dm

    /// Every op, made once (`allCases` builds a new array on each call).
    static let all = allCases

    var name: StaticString {
        switch self {
        case .join: "join"
        case .leave: "leave"
        case .send: "send"
        case .edit: "edit"
        case .delete: "delete"
        case .history: "history"
        case .typing: "typing"
        case .read: "read"
        case .presence: "presence"
        case .ping: "ping"
        case .auth: "auth"
        case .create: "create"
        case .invite: "invite"
        case .kick: "kick"
        case .ban: "ban"
        case .unban: "unban"
        case .mute: "mute"
        case .role: "role"
        case .members: "members"
        case .dm: "dm"
        }
    }
}

/// Typed access to the protocol fields of a scanned frame: values are made from the frame's bytes
/// only when asked for, with the rules and messages of protocol v1.
struct FrameValues {
    let fields: FrameFields
    let scanner: FrameScanner

    /// The value of a field, `nil` when it is absent or `null`.
    private func present(_ field: FrameField) -> ValueToken? {
        switch fields[field] {
        case nil, .null?: nil
        case let value?: value
        }
    }

    func string(_ field: FrameField) throws(ProtocolError) -> String? {
        guard let value = present(field) else { return nil }
        guard case .string(let token) = value else { throw ProtocolError(.badRequest, "field \(field.name) must be a string") }
        return scanner.decode(token)
    }

    /// The op, compared on the frame's bytes where no escape needs decoding.
    func op() throws(ProtocolError) -> FrameOp? {
        guard let value = present(.op) else { return nil }
        guard case .string(let token) = value else { throw ProtocolError(.badRequest, "field op must be a string") }
        if !token.needsDecoding {
            let bytes = UnsafeRawBufferPointer(rebasing: scanner.bytes[token.start..<token.end])
            for op in FrameOp.all where op.name.utf8CodeUnitCount == bytes.count {
                if UnsafeRawBufferPointer(start: op.name.utf8Start, count: bytes.count).elementsEqual(bytes) { return op }
            }
        }
        let text = scanner.decode(token)
        guard let op = FrameOp.all.first(where: { $0.name.description == text }) else {
            throw ProtocolError(.badRequest, "unknown op \(text)")
        }
        return op
    }

    /// The number a field holds, as a `Double` (as JSONSerialization handed it over).
    private func number(_ field: FrameField) -> Double? {
        guard case .number(let start, let end, _)? = fields[field] else { return nil }
        return Double(scanner.text(start, end))
    }

    func integer(_ field: FrameField) throws(ProtocolError) -> Int? {
        guard present(field) != nil else { return nil }
        guard let number = number(field), let integer = Int(exactly: number) else {
            throw ProtocolError(.badRequest, "field \(field.name) must be an integer")
        }
        return integer
    }

    func room() throws(ProtocolError) -> RoomName {
        guard let text = try string(.room) else { throw ProtocolError(.badRequest, "missing field room") }
        guard let room = RoomName(text) else {
            throw ProtocolError(.badRequest, "invalid room name: use 1 to 128 characters of A-Z a-z 0-9 . _ -")
        }
        return room
    }

    func cursor(_ field: FrameField) throws(ProtocolError) -> ChatCursor? {
        guard let text = try string(field) else { return nil }
        guard let cursor = ChatCursor(text) else { throw ProtocolError(.badRequest, "field \(field.name) is not a valid cursor") }
        return cursor
    }

    /// A user id: non-empty and at most ``UserID/maxLength`` characters, as tokens are issued.
    func user() throws(ProtocolError) -> String {
        guard let user = try string(.user) else { throw ProtocolError(.badRequest, "missing field user") }
        guard UserID.isValid(user) else { throw ProtocolError(.badRequest, "user must be 1 to \(UserID.maxLength) characters") }
        return user
    }

    /// A time in ms since the epoch, from 0 to ``ClientFrameParser/maxUntil``: anything else
    /// (negative, fractional, past year 9999, beyond Int64) is refused, not clamped.
    func until() throws(ProtocolError) -> Int64? {
        guard present(.until) != nil else { return nil }
        guard let number = number(.until), let value = Int64(exactly: number), (0...ClientFrameParser.maxUntil).contains(value) else {
            throw ProtocolError(.badRequest, "field until must be an integer time in ms since the epoch, 0 to \(ClientFrameParser.maxUntil)")
        }
        return value
    }

    func role() throws(ProtocolError) -> MemberRole {
        guard let text = try string(.role) else { throw ProtocolError(.badRequest, "missing field role") }
        guard let role = MemberRole(rawValue: text) else { throw ProtocolError(.badRequest, "role must be owner, moderator or member") }
        return role
    }

    func messageID() throws(ProtocolError) -> String {
        guard let msgId = try string(.msgId) else { throw ProtocolError(.badRequest, "missing field msgId") }
        guard !msgId.isEmpty, msgId.utf8.count <= 64 else { throw ProtocolError(.badRequest, "invalid msgId") }
        return msgId
    }

    /// The `id` to echo: a string as it came, a number in the form JSONSerialization's `Double`
    /// gave it (`12`, `1.5`, `1e2` as `100`).
    func requestID() -> Result<RequestID?, ProtocolError> {
        guard let value = present(.id) else { return .success(nil) }
        switch value {
        case .string(let token):
            return .success(.string(scanner.decode(token)))
        case .number:
            guard let double = number(.id), double.isFinite else {
                return .failure(ProtocolError(.badRequest, "field id must be a string or a number"))
            }
            if let integer = Int64(exactly: double) { return .success(.number(String(integer))) }
            return .success(.number(String(double)))
        default:
            return .failure(ProtocolError(.badRequest, "field id must be a string or a number"))
        }
    }
}
