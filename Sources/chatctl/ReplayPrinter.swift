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
            output.line("\(time(message.timestamp)) \(message.from): \(oneLine(message.body))\(message.edited ? " (edited)" : "")")
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
            let prefix = "\(time(event.timestamp)) \(event.from)"
            let mark = duplicate ? " (retry, not shown)" : ""
            switch event.kind {
            case .message(_, let body): output.line("\(prefix): \(oneLine(body))\(mark) [\(logged.offset)]")
            case .edit(let msgId, let body): output.line("\(prefix) edited \(msgId): \(oneLine(body)) [\(logged.offset)]")
            case .delete(let msgId): output.line("\(prefix) deleted \(msgId) [\(logged.offset)]")
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

    /// Keeps one message per line whatever its body holds.
    private func oneLine(_ body: String) -> String {
        guard body.contains(where: { $0.isNewline || $0 == "\\" }) else { return body }
        return body.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(of: "\n", with: "\\n")
    }
}
