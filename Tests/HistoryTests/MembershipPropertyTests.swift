import ChatDomain
import ChatHistory
import ChatTestSupport
import Testing

/// Room states and visible history from snapshots (their stored membership events seeding every
/// later fold) plus the log tail equal those of the whole log, for random logs with membership.
@Suite("Membership: snapshots equal the log (property)")
struct MembershipPropertyTests {
    static let span: Int64 = 12
    static let count = 300
    static let seeds = Array(UInt64(1)...8)

    @Test("The random logs refuse posts of non-members, banned and muted users and apply moderator deletes of others' messages")
    func logsExerciseTheRule() {
        var refusals: Set<String> = []
        var moderatorDeletes = 0
        for seed in Self.seeds {
            let exercised = Self.exercisedRules(RandomChatLog(membershipSeed: seed, count: Self.count))
            refusals.formUnion(exercised.refusals)
            moderatorDeletes += exercised.moderatorDeletes
        }
        #expect(refusals.isSuperset(of: ["notMember", "banned", "muted", "moderator delete notPermitted"]), "\(refusals)")
        #expect(moderatorDeletes > 3)
    }

    @Test("States and history from snapshots + tail == from the log, at every cut, before and after merges", arguments: Self.seeds)
    func snapshotsEqualLog(seed: UInt64) throws {
        let log = RandomChatLog(membershipSeed: seed, count: Self.count)
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        var fixtures = SegmentFixtures(directory: temporary.path, span: Self.span)
        var random = SeededGenerator(seed: seed &* 104_729)
        let oracle = Dictionary(uniqueKeysWithValues: log.rooms.map { ($0, log.oracle(room: $0, span: Self.span)) })
        let finalStates = log.roomStates(span: Self.span)

        for cut in stride(from: 0, through: log.events.count, by: 20) {
            // Segments at random boundaries, each folded from what the earlier ones stored, as the
            // compactor does after a restart.
            var segments: [SegmentReader] = []
            var start = 0
            var window: [WindowEntry] = []
            while start < cut {
                let end = min(cut, start + Int.random(in: 1...70, using: &random))
                let states = try Self.states(of: segments)
                #expect(states == log.roomStates(span: Self.span, upTo: start), "seed \(seed): stored membership gives the states at \(start)")
                let contents = log.fold(start..<end, span: Self.span, window: window, roomStates: states)
                window = contents.window
                segments.append(try fixtures.write(contents))
                start = end
            }
            try check(log, segments, cut: cut, window: window, oracle: oracle, finalStates: finalStates, context: "seed \(seed) cut \(cut)")
            guard segments.count >= 2 else { continue }
            let lower = Int.random(in: 0..<(segments.count - 1), using: &random)
            let upper = Int.random(in: (lower + 2)...segments.count, using: &random)
            var partlyMerged = segments
            partlyMerged.replaceSubrange(lower..<upper, with: [try fixtures.merge(Array(segments[lower..<upper]))])
            try check(
                log, partlyMerged, cut: cut, window: window, oracle: oracle, finalStates: finalStates,
                context: "seed \(seed) cut \(cut) partial merge")
            let merged = [try fixtures.merge(partlyMerged)]
            #expect(
                try merged[0].membershipEvents() == segments.flatMap { try $0.membershipEvents() },
                "a merge keeps every membership event of its inputs")
            try check(log, merged, cut: cut, window: window, oracle: oracle, finalStates: finalStates, context: "seed \(seed) cut \(cut) merged")
        }
    }

    private static func states(of segments: [SegmentReader]) throws -> [RoomName: RoomState] {
        MembershipJournal(partition: 0, events: try segments.flatMap { try $0.membershipEvents() }).current
    }

    private func check(
        _ log: RandomChatLog, _ segments: [SegmentReader], cut: Int, window: [WindowEntry], oracle: [RoomName: [ChatMessage]],
        finalStates: [RoomName: RoomState], context: String
    ) throws {
        let stored = try segments.flatMap { try $0.membershipEvents() }
        let states = MembershipJournal(partition: 0, events: stored).current
        #expect(states == log.roomStates(span: Self.span, upTo: cut), "states at the cut, \(context)")
        for room in log.rooms {
            let tail = log.fold(cut..<log.events.count, span: Self.span, window: window, roomStates: states, room: room)
            #expect(MembershipJournal(partition: 0, events: stored + tail.membershipEvents).current == finalStates, "final states, \(context)")
            let layers: [any RoomLayer] =
                segments.map { SegmentRoomLayer(reader: $0, room: room.value) } + [MemoryRoomLayer(contents: tail, room: room.value)]
            let view = try RoomHistoryView(room: room, layers: layers)
            var all: [ChatMessage] = []
            try view.forEachMessage(batch: 5) { batch in
                all += batch
                return true
            }
            #expect(all == oracle[room]!, "history of \(room), \(context)")
        }
    }

    /// Why the log's fold refused posts, and how many moderator deletes of someone else's message
    /// applied: the property says little unless every reason occurs.
    private static func exercisedRules(_ log: RandomChatLog) -> (refusals: Set<String>, moderatorDeletes: Int) {
        var fold = PartitionLogFold(partition: 0, from: 0, span: span, keepsMessages: true)
        var refusals: Set<String> = []
        var authors: [String: String] = [:]
        var moderatorDeletes = 0
        for index in log.events.indices {
            guard let folded = fold.apply(offset: Int64(index), value: log.value(at: index)) else { continue }
            let event = folded.logged.event
            switch (event.kind, folded.verdict) {
            case (.message, .refused(let reason)): refusals.insert("\(reason)")
            case (.message, .visible): authors[folded.logged.messageID] = event.from
            case (.delete(let id), .visible) where event.authority == .moderator && authors[id] != event.from: moderatorDeletes += 1
            case (.delete, .refused(let reason)) where event.authority == .moderator: refusals.insert("moderator delete \(reason)")
            default: break
            }
        }
        return (refusals, moderatorDeletes)
    }
}
