/// The end-of-soak audit of what the sessions recorded: every acked message delivered to every
/// member of its room exactly once and in log order, and one message per (user, cmid) however
/// often it was sent.
///
/// The truth is the set of acks: an ack names the message (offset) the log holds for a send.
/// Every member joined its rooms before the first message was posted, so every member must have
/// every acked message of its rooms after its first `joined` cursor, across all its reconnects.
struct DeliveryAudit {
    /// An acked message: who sent it, with which cmid.
    private struct Acked: Hashable {
        var from: String
        var cmid: String
        var msgId: String
    }

    let plan: RoomPlan
    let records: [String: SessionRecord]

    func checks() -> [Check] {
        var checks: [Check] = []
        let (acked, ackConflicts) = ackedMessages()
        checks.append(everySendAcked())
        checks.append(oneMessagePerCmid(acked: acked, ackConflicts: ackConflicts))
        checks += deliveryChecks(acked: acked)
        checks.append(resumes())
        return checks
    }

    /// Room → offset → the acked message there, and acks that contradict each other.
    private func ackedMessages() -> ([String: [Int64: Acked]], [String]) {
        var acked: [String: [Int64: Acked]] = [:]
        var conflicts: [String] = []
        for record in records.values {
            for ack in record.acks {
                let message = Acked(from: record.user, cmid: ack.cmid, msgId: ack.msgId)
                if let known = acked[ack.room]?[ack.offset], known != message {
                    conflicts.append(
                        "\(ack.room) offset \(ack.offset): acked as \(known.from) \(known.cmid) (msgId \(known.msgId)) and as \(message.from) \(message.cmid) (msgId \(message.msgId))"
                    )
                }
                acked[ack.room, default: [:]][ack.offset] = message
            }
        }
        return (acked, conflicts)
    }

    private func everySendAcked() -> Check {
        var total = 0
        var retried = 0
        var unacked: [String] = []
        for record in records.values.sorted(by: { $0.user < $1.user }) {
            for send in record.sends.values.sorted(by: { $0.cmid < $1.cmid }) {
                total += 1
                if send.attempts.count > 1 { retried += 1 }
                if send.ackedAt == nil {
                    unacked.append("\(record.user) \(send.cmid) in \(send.room): \(send.attempts.count) attempts, no ack")
                }
            }
        }
        return Check(
            "every send acked", passed: unacked.isEmpty && total > 0,
            "\(total - unacked.count) of \(total) sends acked; \(retried) were sent more than once (after a dropped connection or an error)",
            examples: unacked)
    }

    private func oneMessagePerCmid(acked: [String: [Int64: Acked]], ackConflicts: [String]) -> Check {
        // (room, from, cmid) → every offset an ack or a delivery tied it to.
        var offsets: [String: Set<Int64>] = [:]
        for record in records.values {
            for ack in record.acks { offsets["\(ack.room) \(record.user) \(ack.cmid)", default: []].insert(ack.offset) }
            for (room, deliveries) in record.deliveries {
                for delivery in deliveries { offsets["\(room) \(delivery.from) \(delivery.cmid)", default: []].insert(delivery.offset) }
            }
        }
        let doubled = offsets.filter { $0.value.count > 1 }.sorted { $0.key < $1.key }
            .map { "\($0.key): \($0.value.count) messages, offsets \($0.value.sorted().map(String.init).joined(separator: ", "))" }

        // Retries of a message an earlier attempt had already written: the server had to answer
        // with the original. Known from the acked message's `ts` (stamped when a gateway produced
        // it) being older than the last attempt.
        var retried = 0
        var retriedAfterWritten = 0
        for record in records.values {
            let ackTimestamp = Dictionary(record.acks.map { ($0.cmid, $0.timestamp) }, uniquingKeysWith: { first, _ in first })
            for send in record.sends.values where send.attempts.count > 1 {
                retried += 1
                if let timestamp = ackTimestamp[send.cmid], let last = send.attemptWallMilliseconds.last, timestamp < last {
                    retriedAfterWritten += 1
                }
            }
        }
        let messages = acked.values.reduce(0) { $0 + $1.count }
        return Check(
            "one message per (user, cmid)", passed: doubled.isEmpty && ackConflicts.isEmpty,
            "\(messages) acked messages, \(doubled.count) cmids with more than one message; \(retried) retried sends, "
                + "\(retriedAfterWritten) of them retries of a message an earlier attempt had written (answered with the original)",
            examples: ackConflicts + doubled)
    }

    private func deliveryChecks(acked: [String: [Int64: Acked]]) -> [Check] {
        var expected = 0
        var delivered = 0
        var missing: [String] = []
        var missingCount = 0
        var duplicates: [String] = []
        var disorder: [String] = []
        var unexpected: [String] = []
        for user in plan.users {
            guard let record = records[user] else { continue }
            for room in plan.roomsOf[user] ?? [] {
                let deliveries = record.deliveries[room] ?? []
                delivered += deliveries.count
                var seen: Set<Int64> = []
                var highest = Int64.min
                for (index, delivery) in deliveries.enumerated() {
                    if seen.contains(delivery.offset) {
                        duplicates.append("\(user) in \(room): offset \(delivery.offset) (\(delivery.cmid)) delivered again at position \(index)")
                    } else if delivery.offset < highest {
                        disorder.append("\(user) in \(room): offset \(delivery.offset) (\(delivery.cmid)) after offset \(highest)")
                    }
                    seen.insert(delivery.offset)
                    highest = max(highest, delivery.offset)
                    if let message = acked[room]?[delivery.offset] {
                        if message.from != delivery.from || message.cmid != delivery.cmid || message.msgId != delivery.msgId {
                            unexpected.append(
                                "\(user) in \(room): offset \(delivery.offset) is \(delivery.from) \(delivery.cmid) (msgId \(delivery.msgId)), acked as \(message.from) \(message.cmid) (msgId \(message.msgId))"
                            )
                        }
                    } else {
                        unexpected.append("\(user) in \(room): offset \(delivery.offset) (\(delivery.from) \(delivery.cmid)) was never acked")
                    }
                }
                guard let start = record.startOffset[room] else {
                    missing.append("\(user) never joined \(room)")
                    missingCount += acked[room]?.count ?? 0
                    continue
                }
                let due = (acked[room] ?? [:]).keys.filter { $0 > start }.sorted()
                expected += due.count
                for offset in due where !seen.contains(offset) {
                    missingCount += 1
                    guard missing.count < 200 else { continue }
                    let message = acked[room]![offset]!
                    let before = deliveries.last { $0.offset < offset }
                    let after = deliveries.first { $0.offset > offset }
                    missing.append(
                        "\(user) in \(room): offset \(offset) (\(message.from) \(message.cmid)) missing; delivered around it: "
                            + Self.describe(before) + ", " + Self.describe(after)
                            + Self.joins(of: record, room: room, from: before?.connection ?? 0, to: after?.connection ?? Int.max))
                }
            }
        }
        return [
            Check(
                "complete delivery", passed: missingCount == 0 && expected > 0,
                "\(expected - missingCount) of \(expected) expected deliveries made (\(delivered) message events received)", examples: missing),
            Check(
                "no duplicate delivery", passed: duplicates.isEmpty, "\(duplicates.count) messages delivered twice to a session", examples: duplicates
            ),
            Check("log order", passed: disorder.isEmpty, "\(disorder.count) messages delivered after a later one", examples: disorder),
            Check(
                "only acked messages delivered", passed: unexpected.isEmpty, "\(unexpected.count) deliveries of messages no ack names",
                examples: unexpected),
        ]
    }

    private static func describe(_ delivery: SessionRecord.Delivery?) -> String {
        guard let delivery else { return "none" }
        return "\(delivery.offset) (connection \(delivery.connection), \(SoakOutput.seconds(delivery.at)))"
    }

    /// The session's joins of `room` on connections `from...to`: where a gap would come from.
    private static func joins(of record: SessionRecord, room: String, from: Int, to: Int) -> String {
        let joins = record.joins.filter { $0.room == room && $0.connection > from && $0.connection <= to }
        guard !joins.isEmpty else { return "; no rejoin in between" }
        return "; rejoins in between: "
            + joins.prefix(5).map {
                "connection \($0.connection) gw\($0.gateway + 1) at \(SoakOutput.seconds($0.at)) since \($0.since.flatMap(SoakUser.offset).map(String.init) ?? "none") "
                    + "recovered \($0.recovered) joined cursor \($0.cursorOffset)"
            }.joined(separator: "; ") + (joins.count > 5 ? "; ..." : "")
    }

    private func resumes() -> Check {
        var count = 0
        var lost: [String] = []
        for record in records.values.sorted(by: { $0.user < $1.user }) {
            for join in record.joins where join.since != nil {
                count += 1
                if !join.recovered {
                    lost.append("\(record.user) in \(join.room) at \(SoakOutput.seconds(join.at)): since \(join.since!) not recovered")
                }
            }
        }
        return Check("resume by cursor", passed: lost.isEmpty, "\(count) rejoins with since, \(lost.count) answered recovered: false", examples: lost)
    }
}
