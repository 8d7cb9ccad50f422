import ChatDomain
import Foundation

/// The JSONSerialization-based client frame parser that ``ClientFrameParser`` replaced, kept
/// unchanged as the oracle of the differential tests (only renamed, and reporting when a field's
/// number went through Foundation's `Decimal`, whose conversion to `Double` is not correctly
/// rounded: the byte-level parser rounds correctly there, a documented difference).
struct ReferenceFrameParser: Sendable {
    var limits: RequestLimits

    /// Longest `token` of an `auth` request (a real JWT is far shorter).
    static let maxTokenBytes = 8 * 1024

    init(limits: RequestLimits = RequestLimits()) {
        self.limits = limits
    }

    func parse(_ text: String) -> Result<ClientFrame, ProtocolError> {
        parse(Data(text.utf8))
    }

    /// Whether the `id` or `limit` of this frame is a number JSONSerialization made through `Decimal`.
    func usesDecimal(_ data: Data) -> Bool {
        guard let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) as? [String: Any] else { return false }
        return object["id"] is NSDecimalNumber || object["limit"] is NSDecimalNumber
    }

    func parse(_ data: Data) -> Result<ClientFrame, ProtocolError> {
        let object: [String: Any]
        do {
            guard let parsed = try JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) as? [String: Any] else {
                return .failure(ProtocolError(.badRequest, "a frame must be a JSON object"))
            }
            object = parsed
        } catch {
            return .failure(ProtocolError(.badRequest, "malformed JSON"))
        }
        let fields = ReferenceFields(object: object)
        let id: RequestID?
        switch fields.requestID() {
        case .success(let value): id = value
        case .failure(let error): return .failure(error)
        }
        do {
            return .success(ClientFrame(id: id, request: try request(fields)))
        } catch var error as ProtocolError {
            error.id = id
            return .failure(error)
        } catch {
            return .failure(ProtocolError(id: id, .badRequest, "invalid request"))
        }
    }

    private func request(_ fields: ReferenceFields) throws -> ClientRequest {
        guard let op = try fields.string("op") else { throw ProtocolError(.badRequest, "missing field op") }
        switch op {
        case "join":
            return .join(room: try fields.room(), since: try fields.cursor("since"))
        case "leave":
            return .leave(room: try fields.room())
        case "send":
            let room = try fields.room()
            guard let cmid = try fields.string("cmid") else { throw ProtocolError(.badRequest, "missing field cmid") }
            guard (1...limits.maxClientMessageIDLength).contains(cmid.count) else {
                throw ProtocolError(.badRequest, "cmid must be 1 to \(limits.maxClientMessageIDLength) characters")
            }
            return .send(room: room, cmid: cmid, body: try body(fields))
        case "edit":
            return .edit(room: try fields.room(), msgId: try fields.messageID(), body: try body(fields))
        case "delete":
            return .delete(room: try fields.room(), msgId: try fields.messageID())
        case "history":
            let room = try fields.room()
            let before = try fields.cursor("before")
            var limit = limits.defaultHistoryLimit
            if let requested = try fields.integer("limit") {
                guard (1...limits.maxHistoryLimit).contains(requested) else {
                    throw ProtocolError(.badRequest, "limit must be 1 to \(limits.maxHistoryLimit)")
                }
                limit = requested
            }
            return .history(room: room, before: before, limit: limit)
        case "typing":
            return .typing(room: try fields.room())
        case "read":
            let room = try fields.room()
            guard let cursor = try fields.cursor("cursor") else { throw ProtocolError(.badRequest, "missing field cursor") }
            return .read(room: room, cursor: cursor)
        case "presence":
            return .presence(room: try fields.room())
        case "ping":
            return .ping
        case "auth":
            guard let token = try fields.string("token"), !token.isEmpty else { throw ProtocolError(.badRequest, "missing field token") }
            guard token.utf8.count <= Self.maxTokenBytes else {
                throw ProtocolError(.badRequest, "token is over \(Self.maxTokenBytes) bytes")
            }
            return .auth(token: token)
        default:
            throw ProtocolError(.badRequest, "unknown op \(op)")
        }
    }

    private func body(_ fields: ReferenceFields) throws -> String {
        guard let body = try fields.string("body") else { throw ProtocolError(.badRequest, "missing field body") }
        guard !body.isEmpty else { throw ProtocolError(.badRequest, "body must not be empty") }
        guard body.utf8.count <= limits.maxBodyBytes else {
            throw ProtocolError(.tooLarge, "body is \(body.utf8.count) bytes; the limit is \(limits.maxBodyBytes)")
        }
        return body
    }
}

/// Typed access to the fields of a request object.
private struct ReferenceFields {
    let object: [String: Any]

    func string(_ name: String) throws -> String? {
        guard let value = object[name], !(value is NSNull) else { return nil }
        guard let string = value as? String else { throw ProtocolError(.badRequest, "field \(name) must be a string") }
        return string
    }

    func integer(_ name: String) throws -> Int? {
        guard let value = object[name], !(value is NSNull) else { return nil }
        guard let number = value as? NSNumber, !Self.isBoolean(number), let integer = Int(exactly: number.doubleValue) else {
            throw ProtocolError(.badRequest, "field \(name) must be an integer")
        }
        return integer
    }

    func room() throws -> RoomName {
        guard let text = try string("room") else { throw ProtocolError(.badRequest, "missing field room") }
        guard let room = RoomName(text) else {
            throw ProtocolError(.badRequest, "invalid room name: use 1 to 128 characters of A-Z a-z 0-9 . _ -")
        }
        return room
    }

    func cursor(_ name: String) throws -> ChatCursor? {
        guard let text = try string(name) else { return nil }
        guard let cursor = ChatCursor(text) else { throw ProtocolError(.badRequest, "field \(name) is not a valid cursor") }
        return cursor
    }

    func messageID() throws -> String {
        guard let msgId = try string("msgId") else { throw ProtocolError(.badRequest, "missing field msgId") }
        guard !msgId.isEmpty, msgId.utf8.count <= 64 else { throw ProtocolError(.badRequest, "invalid msgId") }
        return msgId
    }

    func requestID() -> Result<RequestID?, ProtocolError> {
        guard let value = object["id"], !(value is NSNull) else { return .success(nil) }
        if let string = value as? String { return .success(.string(string)) }
        if let number = value as? NSNumber, !Self.isBoolean(number) {
            let double = number.doubleValue
            guard double.isFinite else { return .failure(ProtocolError(.badRequest, "field id must be a string or a number")) }
            if let integer = Int64(exactly: double) { return .success(.number(String(integer))) }
            return .success(.number(String(double)))
        }
        return .failure(ProtocolError(.badRequest, "field id must be a string or a number"))
    }

    private static func isBoolean(_ number: NSNumber) -> Bool {
        // JSONSerialization hands booleans over as NSNumbers of type char.
        let type = String(cString: number.objCType)
        return type == "c" || type == "B"
    }
}
