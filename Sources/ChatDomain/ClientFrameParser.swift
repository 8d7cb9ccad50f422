/// Parses and validates client frames (one JSON object per text frame).
///
/// Every malformed input becomes a ``ProtocolError`` with a message that says what is wrong;
/// nothing here traps on any input. Frames are parsed from their UTF-8 bytes in one pass: only
/// the fields of the protocol become values, and other members are validated and skipped without
/// allocating.
public struct ClientFrameParser: Sendable {
    public var limits: RequestLimits

    /// Longest `token` of an `auth` request (a real JWT is far shorter).
    public static let maxTokenBytes = 8 * 1024

    /// Latest `until` of a `ban` or `mute`: the end of year 9999 UTC, in ms since the epoch.
    public static let maxUntil: Int64 = 253_402_300_799_999

    public init(limits: RequestLimits = RequestLimits()) {
        self.limits = limits
    }

    public func parse(_ text: String) -> Result<ClientFrame, ProtocolError> {
        var text = text
        return text.withUTF8 { parse(bytes: UnsafeRawBufferPointer($0)) }
    }

    /// Parses one frame from its UTF-8 bytes (invalid UTF-8 is a bad request).
    public func parse(bytes: UnsafeRawBufferPointer) -> Result<ClientFrame, ProtocolError> {
        var scanner = FrameScanner(bytes: bytes)
        var fields = FrameFields()
        let isObject: Bool
        do throws(FrameSyntaxError) {
            isObject = scanner.skipWhitespace() == UInt8(ascii: "{")
            if isObject {
                try scanner.members(into: &fields)
            } else {
                _ = try scanner.value(depth: 0)
            }
            guard scanner.skipWhitespace() == nil else { throw .malformed }
            if scanner.sawNonFiniteNumber {
                var rescan = FrameScanner(bytes: bytes)
                if try rescan.holdsNonFiniteNumber() { throw .malformed }
            }
        } catch .tooDeep {
            return .failure(ProtocolError(.badRequest, "malformed JSON: nested deeper than \(FrameScanner.maxDepth) levels"))
        } catch {
            return .failure(ProtocolError(.badRequest, "malformed JSON"))
        }
        guard isObject else { return .failure(ProtocolError(.badRequest, "a frame must be a JSON object")) }
        let values = FrameValues(fields: fields, scanner: scanner)
        let id: RequestID?
        switch values.requestID() {
        case .success(let value): id = value
        case .failure(let error): return .failure(error)
        }
        do {
            return .success(ClientFrame(id: id, request: try request(values)))
        } catch var error {
            error.id = id
            return .failure(error)
        }
    }

    private func request(_ fields: FrameValues) throws(ProtocolError) -> ClientRequest {
        guard let op = try fields.op() else { throw ProtocolError(.badRequest, "missing field op") }
        switch op {
        case .join:
            return .join(room: try fields.room(), since: try fields.cursor(.since))
        case .leave:
            return .leave(room: try fields.room())
        case .send:
            let room = try fields.room()
            guard let cmid = try fields.string(.cmid) else { throw ProtocolError(.badRequest, "missing field cmid") }
            guard (1...limits.maxClientMessageIDLength).contains(cmid.count) else {
                throw ProtocolError(.badRequest, "cmid must be 1 to \(limits.maxClientMessageIDLength) characters")
            }
            return .send(room: room, cmid: cmid, body: try body(fields))
        case .edit:
            return .edit(room: try fields.room(), msgId: try fields.messageID(), body: try body(fields))
        case .delete:
            return .delete(room: try fields.room(), msgId: try fields.messageID())
        case .history:
            let room = try fields.room()
            let before = try fields.cursor(.before)
            var limit = limits.defaultHistoryLimit
            if let requested = try fields.integer(.limit) {
                guard (1...limits.maxHistoryLimit).contains(requested) else {
                    throw ProtocolError(.badRequest, "limit must be 1 to \(limits.maxHistoryLimit)")
                }
                limit = requested
            }
            return .history(room: room, before: before, limit: limit)
        case .typing:
            return .typing(room: try fields.room())
        case .read:
            let room = try fields.room()
            guard let cursor = try fields.cursor(.cursor) else { throw ProtocolError(.badRequest, "missing field cursor") }
            return .read(room: room, cursor: cursor)
        case .presence:
            return .presence(room: try fields.room())
        case .ping:
            return .ping
        case .auth:
            guard let token = try fields.string(.token), !token.isEmpty else { throw ProtocolError(.badRequest, "missing field token") }
            guard token.utf8.count <= Self.maxTokenBytes else {
                throw ProtocolError(.badRequest, "token is over \(Self.maxTokenBytes) bytes")
            }
            return .auth(token: token)
        case .create:
            let room = try fields.room()
            guard let text = try fields.string(.kind) else { throw ProtocolError(.badRequest, "missing field kind") }
            guard let kind = RoomKind(rawValue: text), kind != .dm else {
                throw ProtocolError(.badRequest, #"kind must be public or private (a DM is opened with {"op":"dm","user":...})"#)
            }
            let title = try fields.string(.title)
            if let title, title.utf8.count > MembershipRule.maxTitleBytes {
                throw ProtocolError(.badRequest, "title is over \(MembershipRule.maxTitleBytes) bytes")
            }
            return .create(room: room, kind: kind, title: title)
        case .invite:
            return .membership(room: try fields.room(), action: .add(user: try fields.user(), role: .member))
        case .kick:
            return .membership(room: try fields.room(), action: .remove(user: try fields.user()))
        case .ban:
            return .membership(room: try fields.room(), action: .ban(user: try fields.user(), until: try fields.until()))
        case .unban:
            return .membership(room: try fields.room(), action: .unban(user: try fields.user()))
        case .mute:
            let room = try fields.room()
            let user = try fields.user()
            guard let until = try fields.until() else { throw ProtocolError(.badRequest, "missing field until") }
            return .membership(room: room, action: .mute(user: user, until: until))
        case .role:
            return .membership(room: try fields.room(), action: .setRole(user: try fields.user(), role: try fields.role()))
        case .members:
            return .members(room: try fields.room())
        case .dm:
            return .dm(user: try fields.user())
        }
    }

    private func body(_ fields: FrameValues) throws(ProtocolError) -> String {
        guard let body = try fields.string(.body) else { throw ProtocolError(.badRequest, "missing field body") }
        guard !body.isEmpty else { throw ProtocolError(.badRequest, "body must not be empty") }
        guard body.utf8.count <= limits.maxBodyBytes else {
            throw ProtocolError(.tooLarge, "body is \(body.utf8.count) bytes; the limit is \(limits.maxBodyBytes)")
        }
        return body
    }
}
