import ArgumentParser
import ChatDomain
import Foundation

/// Output formats of `chatctl replay`.
enum ReplayFormat: String, ExpressibleByArgument, CaseIterable {
    /// One line per message: `<ISO time> <user>: <body>`.
    case text
    /// One JSON document: `{"room", "partition", "epoch", "messages": [...]}` (or `"events"`).
    case json
    /// One JSON object per line, shaped like protocol frames.
    case jsonl
}

/// Prints messages and events in the chosen format.
final class ReplayPrinter: @unchecked Sendable {
    let format: ReplayFormat
    let room: RoomName
    let epoch: LogEpoch
    let partition: Int32
    let output = OutputBuffer()
    private(set) var printed = 0
    private var openDocument = false

    init(format: ReplayFormat, room: RoomName, epoch: LogEpoch, partition: Int32) {
        self.format = format
        self.room = room
        self.epoch = epoch
        self.partition = partition
    }

    /// Starts a `json` document whose array is named `key`.
    func begin(_ key: String) {
        guard format == .json else { return }
        var writer = JSONWriter()
        writer.add("room", room.value)
        writer.add("partition", Int(partition))
        writer.add("epoch", epoch.description)
        let head = writer.finish()
        output.line(String(head.dropLast()) + ",\"\(key)\":[")
        openDocument = true
    }

    func end() {
        if openDocument { output.line("]}") }
        output.flush()
    }

    func message(_ message: ChatMessage) {
        switch format {
        case .text:
            output.line("\(time(message.timestamp)) \(oneLine(message.from)): \(oneLine(message.body))\(message.edited ? " (edited)" : "")")
        case .json, .jsonl:
            item(ServerFrame.message(historyItem: message, epoch: epoch, partition: partition))
        }
        printed += 1
    }

    /// A raw event; `source` says whether it came from a snapshot (compacted) or from the log.
    func event(_ logged: LoggedRoomEvent, source: String, duplicate: Bool = false) {
        let event = logged.event
        switch format {
        case .text:
            let prefix = "\(time(event.timestamp)) \(oneLine(event.from))"
            let mark = duplicate ? " (retry, not shown)" : ""
            switch event.kind {
            case .message(_, let body): output.line("\(prefix): \(oneLine(body))\(mark) [\(logged.offset)]")
            case .edit(let msgId, let body): output.line("\(prefix) edited \(oneLine(msgId)): \(oneLine(body)) [\(logged.offset)]")
            case .delete(let msgId): output.line("\(prefix) deleted \(oneLine(msgId)) [\(logged.offset)]")
            case .membership(let action): output.line("\(prefix) \(MembershipText.describe(action)) [\(logged.offset)]")
            }
        case .json, .jsonl:
            guard let frame = ServerFrame.event(logged, epoch: epoch) else { return }
            var extra = ",\"source\":\"\(source)\""
            if duplicate { extra += ",\"duplicate\":true" }
            item(String(frame.dropLast()) + extra + "}")
        }
        printed += 1
    }

    func flush() { output.flush() }

    private func item(_ json: String) {
        if format == .json, printed > 0 {
            output.line("," + json)
        } else {
            output.line(json)
        }
    }

    private func time(_ milliseconds: Int64) -> String {
        UTCTimestamp.iso8601(milliseconds: milliseconds)
    }

    /// Keeps one message per line whatever its body holds, and shows characters a terminal would
    /// act on (escape sequences, other C0 and C1 controls, DEL, bidirectional overrides) as
    /// visible `\u{…}` escapes instead of printing them raw.
    private func oneLine(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: Self.needsEscape) else { return text }
        var escaped = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            case _ where Self.needsEscape(scalar): escaped += "\\u{\(String(scalar.value, radix: 16))}"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return escaped
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x5C: true  // the escape character itself, so escapes stay unambiguous
        case 0x00...0x1F, 0x7F...0x9F: true  // C0, DEL, C1 (ESC, CSI...)
        case 0x2028, 0x2029: true  // line and paragraph separators
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: true  // bidirectional controls
        default: false
        }
    }
}

/// One line of text for a membership change, for `chatctl replay` and `chatctl rooms`.
enum MembershipText {
    static func describe(_ action: MembershipAction) -> String {
        switch action {
        case .create(let kind, let title, let owner, let members):
            var text = "created the \(kind.rawValue) room"
            if let title { text += " \"\(title)\"" }
            if let owner { text += ", owner \(owner)" }
            if !members.isEmpty { text += ", members \(members.joined(separator: ", "))" }
            return text
        case .add(let user, let role): return "added \(user) as \(role.rawValue)"
        case .remove(let user): return "removed \(user)"
        case .setRole(let user, let role): return "made \(user) \(role.rawValue)"
        case .ban(let user, let until): return "banned \(user)" + (until.map { " until \(UTCTimestamp.iso8601(milliseconds: $0))" } ?? "")
        case .unban(let user): return "unbanned \(user)"
        case .mute(let user, let until): return "muted \(user) until \(UTCTimestamp.iso8601(milliseconds: until))"
        }
    }
}
