import ChatCompactor
import ChatDomain
import ChatHistory
import ChatServer
import ChatTestSupport
import Foundation
import Kafka
import Testing

/// A room created long ago, whose creation retention deleted and only snapshots hold.
@Suite("Membership after retention", .timeLimit(.minutes(3)))
struct MembershipRetentionTests {
    static let span: Int64 = 10_000
    static let vault = RoomName("vault")!

    static func event(_ from: String, _ second: Int64, _ kind: RoomEvent.Kind) -> RoomEvent {
        RoomEvent(room: vault, from: from, timestamp: 1_600_000_000_000 + second * 1000, kind: kind)
    }

    @Test("A compacted room whose creation is older than the log start refuses a non-member's and a banned user's post; chatctl rooms shows it")
    func creationPastRetention() async throws {
        try await withChatCluster(partitions: 1) { fixture, root in
            let head = [
                Self.event("ann", 0, .membership(.create(kind: .private, title: "Vault", owner: "ann", members: ["bob", "eve"]))),
                Self.event("bob", 1, .message(cmid: "b1", body: "secret")),
                Self.event("ann", 2, .membership(.setRole(user: "bob", role: .moderator))),
                Self.event("ann", 3, .membership(.ban(user: "eve", until: nil))),
                Self.event("ann", 4, .membership(.add(user: "cid", role: .member))),
            ]
            _ = try await fixture.produce(head.map { $0.encoded() })
            // ~1 KiB posts of another room in the same partition push the log start past the head.
            let filler = RandomChatLog(seed: 16, count: 9000, rooms: ["filler"], bodyPadding: 1000)
            let configuration = fixture.compactorConfiguration(root: root, span: Self.span)
            for round in 0..<3 {
                _ = try await fixture.produce(((round * 3000)..<((round + 1) * 3000)).map(filler.value(at:)))
                _ = try await CompactionPass(configuration: configuration, admin: fixture.admin, logger: quietLogger("test.compactor")).run()
            }
            let low = try await fixture.admin.watermarks(topic: ChatTopics.rooms, partition: 0).low
            try #require(low > Int64(head.count), "the log start (\(low)) passed the room's creation")

            let tail = [
                Self.event("dan", 100, .message(cmid: "d1", body: "intruder")),
                Self.event("eve", 101, .message(cmid: "e1", body: "banned")),
                Self.event("cid", 102, .message(cmid: "c1", body: "invited")),
                Self.event("bob", 103, .membership(.remove(user: "cid"))),
                Self.event("cid", 104, .message(cmid: "c2", body: "kicked")),
            ]
            _ = try await fixture.produce(tail.map { $0.encoded() })
            let expected = ["secret", "invited"]
            let history = try await fixture.history(root: root, span: Self.span)
            #expect(try await fixture.fullHistory(history, room: Self.vault, partition: 0).map(\.body) == expected, "snapshots + log tail")
            // The log alone no longer knows the room: the test needs the snapshots' membership.
            let logOnly = try await history.log.page(room: Self.vault, before: nil, limit: 100)
            #expect(logOnly.messages.map(\.body).contains("intruder"))

            let watermarks = try await fixture.admin.watermarks(topic: ChatTopics.rooms, partition: 0)
            let membership = try await history.membership(room: Self.vault, partition: 0, watermarks: watermarks)
            #expect(membership.state?.members == ["ann": .owner, "bob": .moderator])
            #expect(membership.state?.bans.keys.sorted() == ["eve"])
            #expect(membership.state?.createdAt == 0)
            #expect(membership.lost == nil)

            // The compactor, started again, folds the tail from the membership its segments stored.
            _ = try await CompactionPass(configuration: configuration, admin: fixture.admin, logger: quietLogger("test.compactor")).run()
            let manifest = try SnapshotDirectory(root: root, epoch: try await fixture.epoch()).manifest(0)
            #expect(manifest?.coveredEnd == watermarks.high)
            #expect(try await fixture.fullHistory(history, room: Self.vault, partition: 0).map(\.body) == expected, "snapshots alone")

            let seed = try await SnapshotCatchUpSource(store: history.store).membership(partition: 0)
            #expect(seed?.to == watermarks.high, "the fan-out's seed: where the snapshots end")
            #expect(seed?.events.map(\.offset) == membership.events.map(\.offset), "every membership event of the partition (only vault has any)")

            let connection = ["--brokers", fixture.cluster.bootstrapServers, "--snapshots", root]
            let members = try await Chatctl.run(["rooms", "members", "--room", "vault"] + connection)
            #expect(members.status == 0, "\(members.stderr)")
            #expect(members.stdout.split(separator: "\n").map(String.init) == ["ann owner", "bob moderator"])

            let show = try await Chatctl.run(["rooms", "show", "--room", "vault", "--format", "json"] + connection)
            #expect(show.status == 0, "\(show.stderr)")
            let document = json(show.stdout)
            #expect(document["kind"] as? String == "private")
            #expect(document["title"] as? String == "Vault")
            #expect((document["created"] as? [String: Any])?["from"] as? String == "ann")
            #expect(((document["members"] as? [[String: Any]]) ?? []).compactMap { $0["user"] as? String } == ["ann", "bob"])
            #expect(((document["bans"] as? [[String: Any]]) ?? []).compactMap { $0["user"] as? String } == ["eve"])
            #expect((document["changes"] as? [Any])?.count == 5, "create, role, ban, invite, kick")

            let text = try await Chatctl.run(["rooms", "show", "--room", "vault"] + connection)
            #expect(text.stdout.contains("kind: private"))
            #expect(text.stdout.contains("  eve for good"))
            #expect(text.stdout.contains("bob removed cid"))

            let unknown = try await Chatctl.run(["rooms", "members", "--room", "nowhere"] + connection)
            #expect(unknown.status == 3)
            #expect(unknown.stderr.contains("never created"), "\(unknown.stderr)")

            // Without the snapshots the room's creation is gone: chatctl says so.
            let empty = try TemporaryDirectory()
            defer { empty.remove() }
            let blind = try await Chatctl.run([
                "rooms", "members", "--room", "vault", "--brokers", fixture.cluster.bootstrapServers, "--snapshots", empty.path,
            ])
            #expect(blind.stderr.contains("membership changes in offsets 0..<"), "\(blind.stderr)")
        }
    }

    @Test("History from the log alone folds membership from the log start, however far back its page window starts")
    func logHistorySeeded() async throws {
        try await withChatCluster(partitions: 1) { fixture, root in
            let filler = RandomChatLog(seed: 3, count: 3000, rooms: ["filler"])
            _ = try await fixture.produce(
                [Self.event("ann", 0, .membership(.create(kind: .private, title: nil, owner: "ann", members: ["bob"]))).encoded()]
                    + (0..<3000).map(filler.value(at:))
                    + [Self.event("dan", 50, .message(cmid: "d1", body: "intruder")), Self.event("bob", 51, .message(cmid: "b1", body: "member"))].map
                {
                    $0.encoded()
                })
            let history = try await fixture.history(root: root, span: 100)
            // A one-message page folds the newest 2000 records: the creation is before them.
            #expect(try await history.log.page(room: Self.vault, before: nil, limit: 1).messages.map(\.body) == ["member"])
            #expect(try await history.log.page(room: Self.vault, before: nil, limit: 5).messages.map(\.body) == ["member"])
            #expect(try await history.page(room: Self.vault, before: nil, limit: 5).messages.map(\.body) == ["member"], "no snapshots: the log")
        }
    }
}
