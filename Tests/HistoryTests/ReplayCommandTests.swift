import ChatDomain
import ChatHistory
import Foundation
import Testing

/// `chatctl replay` and `chatctl compact`, run as processes against an in-process cluster.
@Suite("chatctl replay and compact", .timeLimit(.minutes(2)))
struct ReplayCommandTests {
    static let base: Int64 = 1_700_000_000_000  // 2023-11-14T22:13:20Z

    /// A known scenario in room `lobby`, with a retry, an edit, a delete, a multi-line body, an
    /// edit by someone else and another room in the same partition.
    static func scenario() -> [RoomEvent] {
        let lobby = RoomName("lobby")!
        let other = RoomName("other")!
        func at(_ second: Int64) -> Int64 { base + second * 1000 }
        return [
            RoomEvent(room: lobby, from: "ann", timestamp: at(0), kind: .message(cmid: "c1", body: "hello")),
            RoomEvent(room: lobby, from: "bob", timestamp: at(1), kind: .message(cmid: "c2", body: "hi ann")),
            RoomEvent(room: other, from: "zed", timestamp: at(2), kind: .message(cmid: "z1", body: "elsewhere")),
            RoomEvent(room: lobby, from: "ann", timestamp: at(3), kind: .message(cmid: "c1", body: "hello")),
            RoomEvent(room: lobby, from: "ann", timestamp: at(4), kind: .edit(msgId: "0", body: "hello, world")),
            RoomEvent(room: lobby, from: "bob", timestamp: at(5), kind: .message(cmid: "c3", body: "typo")),
            RoomEvent(room: lobby, from: "bob", timestamp: at(6), kind: .delete(msgId: "5")),
            RoomEvent(room: lobby, from: "cid", timestamp: at(7), kind: .message(cmid: "c4", body: "line1\nline2")),
            RoomEvent(room: lobby, from: "bob", timestamp: at(8), kind: .edit(msgId: "0", body: "hijacked")),
        ]
    }

    static func afterCompaction() -> [RoomEvent] {
        let lobby = RoomName("lobby")!
        return [
            RoomEvent(room: lobby, from: "ann", timestamp: base + 9000, kind: .message(cmid: "c5", body: "after compaction")),
            RoomEvent(room: lobby, from: "ann", timestamp: base + 10_000, kind: .edit(msgId: "9", body: "after compaction, edited")),
        ]
    }

    static let expectedText = [
        "2023-11-14T22:13:20.000Z ann: hello, world (edited)",
        "2023-11-14T22:13:21.000Z bob: hi ann",
        "2023-11-14T22:13:27.000Z cid: line1\\nline2",
        "2023-11-14T22:13:29.000Z ann: after compaction, edited (edited)",
    ]

    /// Produces the scenario, compacts it with `chatctl compact`, produces two more events.
    private func prepare(_ fixture: ChatClusterFixture, root: String) async throws -> [String] {
        try await fixture.produce(Self.scenario().map { $0.encoded() })
        let compact = try await Chatctl.run(["compact", "--brokers", fixture.cluster.bootstrapServers, "--snapshots", root])
        #expect(compact.status == 0, "compact failed: \(compact.stderr)")
        #expect(compact.stdout.contains("compacted 9 records of 1 partitions"), "\(compact.stdout)")
        try await fixture.produce(Self.afterCompaction().map { $0.encoded() })
        return ["--brokers", fixture.cluster.bootstrapServers, "--snapshots", root]
    }

    @Test("Text and jsonl output of a known scenario, from a snapshot plus the log tail")
    func textAndJSONL() async throws {
        try await withChatCluster(partitions: 1) { fixture, root in
            let connection = try await prepare(fixture, root: root)
            let manifest = try SnapshotDirectory(root: root, epoch: try await fixture.epoch()).manifest(0)
            #expect(manifest?.coveredEnd == 9, "the compacted part is in a snapshot, the rest in the log")

            let text = try await Chatctl.run(["replay", "--room", "lobby"] + connection)
            #expect(text.status == 0, "\(text.stderr)")
            #expect(text.stdout.split(separator: "\n").map(String.init) == Self.expectedText)

            let epoch = try await fixture.epoch()
            let jsonl = try await Chatctl.run(["replay", "--room", "lobby", "--format", "jsonl"] + connection)
            #expect(jsonl.status == 0, "\(jsonl.stderr)")
            let objects = jsonl.stdout.split(separator: "\n").map { json(String($0)) }
            #expect(objects.map { $0["msgId"] as? String } == ["0", "1", "7", "9"])
            #expect(objects.map { $0["body"] as? String } == ["hello, world", "hi ann", "line1\nline2", "after compaction, edited"])
            #expect(objects.map { $0["from"] as? String } == ["ann", "bob", "cid", "ann"])
            #expect(objects.map { $0["edited"] as? Bool ?? false } == [true, false, false, true])
            #expect(objects.map { $0["cursor"] as? String } == [0, 1, 7, 9].map { "\(epoch).0.\($0)" })

            let document = try await Chatctl.run(["replay", "--room", "lobby", "--format", "json"] + connection)
            let parsed = json(document.stdout)
            #expect((parsed["messages"] as? [Any])?.count == 4)
            #expect(parsed["room"] as? String == "lobby")
        }
    }

    @Test("--since and --until take cursors or ISO-8601 times; --events prints the event stream")
    func sinceUntilAndEvents() async throws {
        try await withChatCluster(partitions: 1) { fixture, root in
            let connection = try await prepare(fixture, root: root)
            let epoch = try await fixture.epoch()
            let sinceCursor = try await Chatctl.run(["replay", "--room", "lobby", "--since", "\(epoch).0.1"] + connection)
            #expect(sinceCursor.stdout.split(separator: "\n").map(String.init) == Array(Self.expectedText.suffix(2)))
            let sinceTime = try await Chatctl.run(["replay", "--room", "lobby", "--since", "2023-11-14T22:13:21Z"] + connection)
            #expect(sinceTime.stdout == sinceCursor.stdout)
            let until = try await Chatctl.run(["replay", "--room", "lobby", "--until", "\(epoch).0.7"] + connection)
            #expect(until.stdout.split(separator: "\n").map(String.init) == Array(Self.expectedText.prefix(3)))
            let wrongRoom = try await Chatctl.run(["replay", "--room", "lobby", "--since", "0000000000000001.0.1"] + connection)
            #expect(wrongRoom.status == 64 || wrongRoom.status == 2, "a cursor of another log is a usage error (\(wrongRoom.status))")

            let events = try await Chatctl.run(
                ["replay", "--room", "lobby", "--events", "--format", "jsonl", "--since", "\(epoch).0.0"] + connection)
            #expect(events.status == 0, "\(events.stderr)")
            let objects = events.stdout.split(separator: "\n").map { json(String($0)) }
            #expect(objects.map { $0["op"] as? String } == ["message", "edited", "message", "message", "edited"])
            #expect(objects.map { $0["source"] as? String } == ["snapshot", "snapshot", "snapshot", "log", "log"])
            #expect(objects.map { $0["cursor"] as? String } == [1, 4, 7, 9, 10].map { "\(epoch).0.\($0)" })
        }
    }

    @Test("Text output shows terminal control characters of bodies and names escaped; jsonl keeps them as they were")
    func controlCharactersEscaped() async throws {
        try await withChatCluster(partitions: 1) { fixture, root in
            let lobby = RoomName("lobby")!
            let hostile = "\u{1b}[31mred\u{1b}[0m\u{07}\u{08}\u{7f}\u{9b}2J\u{202e}txt.exe\ttab\\"
            try await fixture.produce([
                RoomEvent(room: lobby, from: "mal\u{1b}]0;pwned\u{07}", timestamp: Self.base, kind: .message(cmid: "x", body: hostile)).encoded(),
                RoomEvent(room: lobby, from: "ann", timestamp: Self.base + 1000, kind: .message(cmid: "y", body: "plain caf\u{e9}")).encoded(),
            ])
            let connection = ["--brokers", fixture.cluster.bootstrapServers, "--snapshots", root]
            let text = try await Chatctl.run(["replay", "--room", "lobby"] + connection)
            #expect(text.status == 0, "\(text.stderr)")
            let controls = text.stdout.unicodeScalars.filter {
                $0 != "\n" && ($0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0.value == 0x202E)
            }
            #expect(controls.isEmpty, "no raw control character reaches the terminal: \(controls.map(\.value))")
            #expect(
                text.stdout.split(separator: "\n").map(String.init) == [
                    #"2023-11-14T22:13:20.000Z mal\u{1b}]0;pwned\u{7}: \u{1b}[31mred\u{1b}[0m\u{7}\u{8}\u{7f}\u{9b}2J\u{202e}txt.exe\ttab\\"#,
                    "2023-11-14T22:13:21.000Z ann: plain caf\u{e9}",
                ])
            let jsonl = try await Chatctl.run(["replay", "--room", "lobby", "--format", "jsonl"] + connection)
            #expect(jsonl.stdout.split(separator: "\n").first.map { json(String($0))["body"] as? String } == hostile)
        }
    }

    @Test("--follow prints the history, then live events")
    func follow() async throws {
        try await withChatCluster(partitions: 1) { fixture, root in
            let connection = try await prepare(fixture, root: root)
            let running = try RunningChatctl(["replay", "--room", "lobby", "--follow", "--format", "jsonl"] + connection)
            let history = try await running.waitForLines(4)
            #expect(history.count == 4)
            try await fixture.produce([
                RoomEvent(room: RoomName("lobby")!, from: "dan", timestamp: Self.base + 20_000, kind: .message(cmid: "live", body: "live!"))
                    .encoded(),
                RoomEvent(room: RoomName("lobby")!, from: "ann", timestamp: Self.base + 21_000, kind: .message(cmid: "c1", body: "hello")).encoded(),
                RoomEvent(room: RoomName("lobby")!, from: "dan", timestamp: Self.base + 22_000, kind: .edit(msgId: "11", body: "live, edited"))
                    .encoded(),
            ])
            let lines = try await running.waitForLines(6)
            running.terminate()
            _ = await running.exit()
            #expect(lines.count == 6)
            #expect(json(lines[4])["body"] as? String == "live!")
            #expect(json(lines[5])["op"] as? String == "edited", "the retry at offset 12 is not printed")
        }
    }

    @Test("Unknown room, unreachable cluster and a corrupt snapshot end with distinct exit codes and clear messages")
    func failures() async throws {
        try await withChatCluster(partitions: 1) { fixture, root in
            let connection = try await prepare(fixture, root: root)
            let unknown = try await Chatctl.run(["replay", "--room", "nobody-here"] + connection)
            #expect(unknown.status == 3)
            #expect(unknown.stderr.contains("no events"), "\(unknown.stderr)")

            let started = ContinuousClock.now
            let unreachable = try await Chatctl.run(["replay", "--room", "lobby", "--brokers", "127.0.0.1:9", "--snapshots", root, "--timeout", "2"])
            #expect(unreachable.status == 4)
            #expect(unreachable.stderr.contains("cannot reach Kafka"), "\(unreachable.stderr)")
            #expect(ContinuousClock.now - started < .seconds(15))

            // A truncated segment whose range the log still holds: replay falls back to the log and says so.
            let directory = SnapshotDirectory(root: root, epoch: try await fixture.epoch())
            let segment = try #require(try directory.manifest(0)?.segments.first)
            let path = directory.segmentPath(0, file: segment.file)
            let bytes = try #require(FileManager.default.contents(atPath: path))
            try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: path))
            let fallback = try await Chatctl.run(["replay", "--room", "lobby"] + connection)
            #expect(fallback.status == 0, "\(fallback.stderr)")
            #expect(fallback.stdout.split(separator: "\n").map(String.init) == Self.expectedText)
            #expect(fallback.stderr.contains("corrupt"), "\(fallback.stderr)")

            // A manifest that cannot be parsed fails loudly.
            try Data("{\"format\": 1, \"segm".utf8).write(to: URL(fileURLWithPath: directory.manifestPath(0)))
            let corrupt = try await Chatctl.run(["replay", "--room", "lobby"] + connection)
            #expect(corrupt.status == 5)
            #expect(corrupt.stderr.contains("manifest"), "\(corrupt.stderr)")
        }
    }
}

func json(_ text: String) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]) ?? [:]
}
