/// The members of a request object the protocol reads; any other member is skipped.
enum FrameField: Int, CaseIterable {
    case op, id, room, since, cmid, body, msgId, before, limit, cursor, token, kind, title, user, until, role

    var name: StaticString {
        switch self {
        case .op: "op"
        case .id: "id"
        case .room: "room"
        case .since: "since"
        case .cmid: "cmid"
        case .body: "body"
        case .msgId: "msgId"
        case .before: "before"
        case .limit: "limit"
        case .cursor: "cursor"
        case .token: "token"
        case .kind: "kind"
        case .title: "title"
        case .user: "user"
        case .until: "until"
        case .role: "role"
        }
    }

    /// Every field, made once (`allCases` builds a new array on each call).
    static let all = allCases

    /// The field an unescaped key's bytes name.
    static func named(_ key: UnsafeRawBufferPointer) -> FrameField? {
        for field in all where field.name.utf8CodeUnitCount == key.count {
            let name = UnsafeRawBufferPointer(start: field.name.utf8Start, count: key.count)
            if name.elementsEqual(key) { return field }
        }
        return nil
    }

    /// The field a decoded key names, compared as Swift strings, as JSONSerialization's dictionary
    /// keys were.
    static func named(_ key: String) -> FrameField? {
        all.first { $0.name.description == key }
    }
}

/// The last value of each protocol field in a frame (a later duplicate key replaces an earlier
/// one, as in JSONSerialization's dictionaries). Fixed storage: no allocation per frame.
struct FrameFields {
    private var values:
        (
            ValueToken?, ValueToken?, ValueToken?, ValueToken?, ValueToken?, ValueToken?,
            ValueToken?, ValueToken?, ValueToken?, ValueToken?, ValueToken?,
            ValueToken?, ValueToken?, ValueToken?, ValueToken?, ValueToken?
        ) = (nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil)

    subscript(field: FrameField) -> ValueToken? {
        get {
            switch field {
            case .op: values.0
            case .id: values.1
            case .room: values.2
            case .since: values.3
            case .cmid: values.4
            case .body: values.5
            case .msgId: values.6
            case .before: values.7
            case .limit: values.8
            case .cursor: values.9
            case .token: values.10
            case .kind: values.11
            case .title: values.12
            case .user: values.13
            case .until: values.14
            case .role: values.15
            }
        }
        set {
            switch field {
            case .op: values.0 = newValue
            case .id: values.1 = newValue
            case .room: values.2 = newValue
            case .since: values.3 = newValue
            case .cmid: values.4 = newValue
            case .body: values.5 = newValue
            case .msgId: values.6 = newValue
            case .before: values.7 = newValue
            case .limit: values.8 = newValue
            case .cursor: values.9 = newValue
            case .token: values.10 = newValue
            case .kind: values.11 = newValue
            case .title: values.12 = newValue
            case .user: values.13 = newValue
            case .until: values.14 = newValue
            case .role: values.15 = newValue
            }
        }
    }
}

extension FrameScanner {
    /// Scans the frame's object at `index` (its `{`), keeping the protocol's fields.
    mutating func members(into fields: inout FrameFields) throws(FrameSyntaxError) {
        index += 1
        if skipWhitespace() == UInt8(ascii: "}") {
            index += 1
            return
        }
        while true {
            guard skipWhitespace() == UInt8(ascii: "\"") else { throw .malformed }
            let key = try string()
            try expect(UInt8(ascii: ":"))
            let value = try value(depth: 1)
            let field =
                key.needsDecoding
                ? FrameField.named(decode(key))
                : FrameField.named(UnsafeRawBufferPointer(rebasing: bytes[key.start..<key.end]))
            if let field { fields[field] = value }
            if try endOfMember(close: UInt8(ascii: "}")) { return }
        }
    }
}
