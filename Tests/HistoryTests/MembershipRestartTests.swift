import ChatDomain
import ChatGateway
import ChatHistory
import ChatServer
import ChatTestSupport
import Foundation
import HummingbirdWSClient
import ServiceLifecycle
import Synchronization
import Testing

/// A gateway started after retention deleted a private room's creation knows its members from the snapshots.
@Suite("Membership after retention and a restart", .timeLimit(.minutes(3)))
struct MembershipRestartTests {
    static let secret = "membership-restart-secret-of-at-least-32-bytes"

    @Test(
        "A private room whose creation is only in snapshots still refuses non-members and banned users, and admits its members, on a node started afterwards"
    )
    func privateRoomAfterRetentionAndRestart() async throws {
        try await withChatCluster(partitions: 1) { fixture, root in
            let first = try await CompactingNode.start(fixture, root: root, nodeID: "membership-before", secret: Self.secret)
            let setup = try await Self.converse(
                port: first.port, user: "alice",
                [
                    ["op": "create", "room": "vault", "kind": "private", "title": "Vault"],
                    ["op": "invite", "room": "vault", "user": "bob"],
                    ["op": "invite", "room": "vault", "user": "eve"],
                    ["op": "ban", "room": "vault", "user": "eve"],
                ])
            #expect(setup.map { $0["op"] as? String } == ["ack", "ack", "ack", "ack"], "\(setup)")
            let created = try #require((setup.first?["cursor"] as? String).flatMap(ChatCursor.init)?.offset)
            let posted = try await Self.converse(
                port: first.port, user: "bob",
                [["op": "join", "room": "vault"], ["op": "send", "room": "vault", "cmid": "b1", "body": "the combination"]])
            #expect(posted.map { $0["op"] as? String } == ["joined", "ack"], "\(posted)")

            // Another room's ~1 KiB posts in the same partition push the log start past the creation;
            // the node's compactor folds each round before the next one could be deleted unread.
            let filler = RandomChatLog(seed: 61, count: 12_000, rooms: ["filler"], bodyPadding: 1000)
            let directory = SnapshotDirectory(root: root, epoch: first.node.epoch)
            var low: Int64 = 0
            var round = 0
            while low <= created, round < 6 {
                try await fixture.produce((round * 2000..<(round + 1) * 2000).map(filler.value(at:)))
                let high = try await fixture.admin.watermarks(topic: ChatTopics.rooms, partition: 0).high
                let deadline = ContinuousClock.now + .seconds(30)
                while (try? directory.manifest(0))??.coveredEnd != high, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(try directory.manifest(0)?.coveredEnd == high, "round \(round) compacted")
                low = try await fixture.admin.watermarks(topic: ChatTopics.rooms, partition: 0).low
                round += 1
            }
            try #require(low > created, "retention deleted the room's creation (log start \(low), created at \(created))")
            await first.stop()

            let second = try await CompactingNode.start(fixture, root: root, nodeID: "membership-after", secret: Self.secret)
            let stranger = try await Self.converse(
                port: second.port, user: "dan",
                [["op": "join", "room": "vault"], ["op": "history", "room": "vault"], ["op": "send", "room": "vault", "cmid": "d1", "body": "hi"]])
            #expect(stranger.map { $0["code"] as? String } == ["not_member", "not_member", "not_member"], "\(stranger)")
            let banned = try await Self.converse(
                port: second.port, user: "eve",
                [["op": "join", "room": "vault"], ["op": "send", "room": "vault", "cmid": "e1", "body": "let me back"]])
            #expect(banned.map { $0["code"] as? String } == ["forbidden", "forbidden"], "\(banned)")
            let member = try await Self.converse(
                port: second.port, user: "bob",
                [
                    ["op": "join", "room": "vault"], ["op": "history", "room": "vault"],
                    ["op": "send", "room": "vault", "cmid": "b2", "body": "still here"], ["op": "members", "room": "vault"],
                ])
            #expect(member.map { $0["op"] as? String } == ["joined", "history", "ack", "members"], "\(member)")
            let history = (member.count > 1 ? member[1]["messages"] as? [[String: Any]] : nil) ?? []
            #expect(history.compactMap { $0["body"] as? String } == ["the combination"], "history from the snapshots")
            let members = (member.last?["members"] as? [[String: Any]] ?? []).compactMap { entry in
                (entry["user"] as? String).map { "\($0):\(entry["role"] as? String ?? "?")" }
            }
            #expect(members == ["alice:owner", "bob:member"])
            await second.stop()
        }
    }

    /// Opens a WebSocket as `user`, sends each request in turn (with an id) after the previous one's reply, and returns the replies.
    static func converse(port: Int, user: String, _ requests: [[String: Any]]) async throws -> [[String: Any]] {
        let authority = try await TokenAuthority(mode: .sharedSecret(secret))
        let token = try await authority.issue(user: user, rooms: nil, admin: false, lifetime: 600)
        let frames = try requests.enumerated().map { index, request in
            var request = request
            request["id"] = "r\(index)"
            return String(decoding: try JSONSerialization.data(withJSONObject: request), as: UTF8.self)
        }
        let replies = Mutex<[String]>([])
        _ = try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/v1/ws?token=\(token)", logger: quietLogger("test.ws")) {
            inbound, outbound, _ in
            guard let firstFrame = frames.first else { return }
            try await outbound.write(.text(firstFrame))
            for try await message in inbound.messages(maxSize: 1 << 22) {
                guard case .text(let text) = message else { continue }
                let object = json(text)
                guard object["id"] as? String == "r\(replies.withLock { $0.count })" else { continue }
                let count = replies.withLock { replies in
                    replies.append(text)
                    return replies.count
                }
                if count == frames.count { break }
                try await outbound.write(.text(frames[count]))
            }
            try await outbound.close(.normalClosure, reason: nil)
        }
        return replies.withLock { $0 }.map(json)
    }
}
