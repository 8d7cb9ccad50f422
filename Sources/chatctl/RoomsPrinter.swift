import ChatDomain
import ChatHistory

/// Prints `chatctl rooms` output.
struct RoomsPrinter {
    let format: RoomsFormat
    /// Bans and mutes that ended before this time (ms since the epoch) are not listed.
    let now: Int64
    let output = OutputBuffer()

    func show(_ membership: RoomMembership, partition: Int32) {
        guard let state = membership.state else { return }
        let created = membership.events.first { event in
            if case .membership(.create) = event.event.kind { return event.offset == state.createdAt }
            return false
        }
        let bans = active(state.bans)
        let mutes = active(state.mutes)
        switch format {
        case .text:
            output.line("room \(membership.room) (partition \(partition))")
            output.line("kind: \(state.kind.rawValue)")
            if let title = state.title { output.line("title: \(title)") }
            if let created {
                output.line(
                    "created: \(UTCTimestamp.iso8601(milliseconds: created.event.timestamp)) by \(created.event.from) at offset \(created.offset)")
            } else if let offset = state.createdAt {
                output.line("created: at offset \(offset)")
            } else {
                output.line("created: never (managed by an operator only)")
            }
            output.line("members: \(state.members.count)")
            for member in state.memberList { output.line("  \(member.user) \(member.role.rawValue)") }
            output.line("bans: \(bans.count)")
            for ban in bans {
                output.line("  \(ban.user) \(ban.until == Int64.max ? "for good" : "until \(UTCTimestamp.iso8601(milliseconds: ban.until))")")
            }
            output.line("mutes: \(mutes.count)")
            for mute in mutes { output.line("  \(mute.user) until \(UTCTimestamp.iso8601(milliseconds: mute.until))") }
            output.line("changes: \(membership.events.count)")
            for logged in membership.events {
                guard case .membership(let action) = logged.event.kind else { continue }
                let authority = logged.event.authority == .operator ? " (operator)" : ""
                output.line(
                    "  \(UTCTimestamp.iso8601(milliseconds: logged.event.timestamp)) \(logged.event.from)\(authority) \(MembershipText.describe(action)) [\(logged.offset)]"
                )
            }
        case .json:
            var writer = JSONWriter()
            writer.add("room", membership.room.value)
            writer.add("partition", Int(partition))
            writer.add("kind", state.kind.rawValue)
            writer.add("title", state.title)
            if let offset = state.createdAt {
                var creation = JSONWriter()
                creation.add("offset", offset)
                if let created {
                    creation.add("ts", created.event.timestamp)
                    creation.add("from", created.event.from)
                }
                writer.add("created", rawJSON: creation.finish())
            }
            writer.add("members", rawJSON: membersJSON(state))
            writer.add("bans", rawJSON: untilJSON(bans))
            writer.add("mutes", rawJSON: untilJSON(mutes))
            let changes = membership.events.compactMap { logged -> String? in
                guard case .membership(let action) = logged.event.kind else { return nil }
                var change = JSONWriter()
                change.add("offset", logged.offset)
                change.add("ts", logged.event.timestamp)
                change.add("from", logged.event.from)
                change.add("as", logged.event.authority.rawValue)
                change.add("text", MembershipText.describe(action))
                return change.finish()
            }
            writer.add("changes", rawJSON: "[" + changes.joined(separator: ",") + "]")
            output.line(writer.finish())
        }
        output.flush()
    }

    func members(_ membership: RoomMembership, partition: Int32) {
        guard let state = membership.state else { return }
        switch format {
        case .text:
            for member in state.memberList { output.line("\(member.user) \(member.role.rawValue)") }
        case .json:
            var writer = JSONWriter()
            writer.add("room", membership.room.value)
            writer.add("kind", state.kind.rawValue)
            writer.add("members", rawJSON: membersJSON(state))
            output.line(writer.finish())
        }
        output.flush()
    }

    private func active(_ entries: [String: Int64]) -> [(user: String, until: Int64)] {
        entries.filter { $0.value > now }.map { (user: $0.key, until: $0.value) }.sorted { $0.user < $1.user }
    }

    private func membersJSON(_ state: RoomState) -> String {
        "["
            + state.memberList.map { member in
                var writer = JSONWriter()
                writer.add("user", member.user)
                writer.add("role", member.role.rawValue)
                return writer.finish()
            }.joined(separator: ",") + "]"
    }

    /// `until` is absent for a ban for good.
    private func untilJSON(_ entries: [(user: String, until: Int64)]) -> String {
        "["
            + entries.map { entry in
                var writer = JSONWriter()
                writer.add("user", entry.user)
                if entry.until != Int64.max { writer.add("until", entry.until) }
                return writer.finish()
            }.joined(separator: ",") + "]"
    }
}
