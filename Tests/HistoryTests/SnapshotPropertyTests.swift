import ChatDomain
import ChatHistory
import ChatTestSupport
import Testing

/// History from snapshots plus the log tail equals history from the whole log, whatever the
/// random events, wherever the log is cut into segments, and however segments are merged.
@Suite("Snapshots equal the log (property)")
struct SnapshotPropertyTests {
    static let span: Int64 = 12

    @Test("Snapshots + tail == full log at every cut point, before and after merges", arguments: Array(UInt64(1)...6))
    func snapshotsEqualLog(seed: UInt64) throws {
        let log = RandomChatLog(seed: seed, count: 150)
        let temporary = try TemporaryDirectory()
        defer { temporary.remove() }
        var fixtures = SegmentFixtures(directory: temporary.path, span: Self.span)
        var random = SeededGenerator(seed: seed &* 7919)
        let oracle = Dictionary(uniqueKeysWithValues: log.rooms.map { ($0, log.oracle(room: $0, span: Self.span)) })

        for cut in stride(from: 0, through: log.events.count, by: 6) {
            // Segments over 0..<cut at random boundaries, each folded from the previous one's window.
            var segments: [SegmentReader] = []
            var start = 0
            var window: [WindowEntry] = []
            while start < cut {
                let end = min(cut, start + Int.random(in: 1...60, using: &random))
                let contents = log.fold(start..<end, span: Self.span, window: window)
                window = contents.window
                segments.append(try fixtures.write(contents))
                start = end
            }
            try check(log: log, segments: segments, cut: cut, window: window, oracle: oracle, random: &random, context: "seed \(seed) cut \(cut)")
            guard segments.count >= 2 else { continue }
            // Merge a random run, then everything.
            let lower = Int.random(in: 0..<(segments.count - 1), using: &random)
            let upper = Int.random(in: (lower + 2)...segments.count, using: &random)
            var partlyMerged = segments
            partlyMerged.replaceSubrange(lower..<upper, with: [try fixtures.merge(Array(segments[lower..<upper]))])
            try check(
                log: log, segments: partlyMerged, cut: cut, window: window, oracle: oracle, random: &random,
                context: "seed \(seed) cut \(cut) partial merge")
            let merged = [try fixtures.merge(partlyMerged)]
            #expect(try merged[0].window() == window, "a merge keeps the window of its last input")
            try check(
                log: log, segments: merged, cut: cut, window: window, oracle: oracle, random: &random, context: "seed \(seed) cut \(cut) merged")
        }
    }

    private func check(
        log: RandomChatLog, segments: [SegmentReader], cut: Int, window: [WindowEntry], oracle: [RoomName: [ChatMessage]],
        random: inout SeededGenerator, context: String
    ) throws {
        for room in log.rooms {
            let tail = log.fold(cut..<log.events.count, span: Self.span, window: window, room: room.value)
            let segmentLayers: [any RoomLayer] = segments.map { SegmentRoomLayer(reader: $0, room: room.value) }
            let view = try RoomHistoryView(room: room, layers: segmentLayers + [MemoryRoomLayer(contents: tail, room: room.value)])
            let expected = oracle[room]!

            var all: [ChatMessage] = []
            try view.forEachMessage(batch: 7) { batch in
                all += batch
                return true
            }
            #expect(all == expected, "full history, \(context), room \(room)")

            for _ in 0..<3 {
                let before = Int64.random(in: 0...Int64(log.events.count + 1), using: &random)
                let limit = Int.random(in: 1...12, using: &random)
                let page = try view.page(before: before, limit: limit)
                let oraclePage = HistoryPage.newest(limit, of: expected.filter { $0.offset < before }, olderExist: false)
                #expect(page == oraclePage, "page before \(before) limit \(limit), \(context), room \(room)")
            }

            // A client that saw everything up to `after` and resumes from the snapshots, then the
            // log, ends up with the same messages as the full history.
            let after = Int64.random(in: -1..<Int64(max(cut, 0)), using: &random)
            guard after < Int64(cut) else { continue }
            var client = ClientView(log.oracle(room: room, span: Self.span, upTo: Int(after + 1)))
            for event in try RoomHistoryView(room: room, layers: segmentLayers).events(after: after, partition: 0) {
                #expect(event.offset > after)
                client.apply(event)
            }
            var fold = PartitionLogFold(partition: 0, from: Int64(cut), span: Self.span, window: window, rooms: .only(room))
            for index in cut..<log.events.count {
                guard let folded = fold.apply(offset: Int64(index), event: log.events[index]), folded.duplicateOf == nil else { continue }
                client.apply(folded.logged)
            }
            #expect(client == ClientView(expected), "resume after \(after), \(context), room \(room)")
        }
    }
}
