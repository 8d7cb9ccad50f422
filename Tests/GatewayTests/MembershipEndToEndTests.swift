import ChatDomain
import ChatTestSupport
import Foundation
import HTTPTypes
import Kafka
import Testing

/// Asks until `accepted` holds for the reply (the other node may not have read the change yet) or the deadline passes.
private func askUntil(
    _ client: WSTestClient, _ request: [String: Any], timeout: Duration = .seconds(10), _ accepted: ([String: Any]) -> Bool
) async throws -> [String: Any] {
    let deadline = ContinuousClock.now + timeout
    while true {
        let reply = try await client.ask(request)
        if accepted(reply) || ContinuousClock.now > deadline { return reply }
        try await Task.sleep(for: .milliseconds(50))
    }
}

private func code(_ reply: [String: Any]) -> String? { reply["op"] as? String == "error" ? reply["code"] as? String : nil }

private func offset(_ cursor: Any?) -> Int64? { (cursor as? String).flatMap(ChatCursor.init)?.offset }

private func bodies(_ messages: Any?) -> [String] { (messages as? [[String: Any]] ?? []).compactMap { $0["body"] as? String } }

/// The issue's end-to-end cases over two gateway nodes on one cluster: every check is made by the
/// node that serves the request, from the room's log as that node folded it.
@Suite("Rooms and members over two nodes", .timeLimit(.minutes(3)))
struct MembershipEndToEndTests {
    @Test(
        "A private room made on one node: the other node refuses a non-member everything, admits him once invited, and ends his subscription within a second of a kick"
    )
    func privateRoomAcrossNodes() async throws {
        try await withNodes(2) { _, nodes in
            let alice = try await WSTestClient.connect(port: nodes[0].port, user: "alice")
            let bob = try await WSTestClient.connect(port: nodes[1].port, user: "bob")
            let created = try await alice.ask(["op": "create", "room": "council", "kind": "private"])
            #expect(created["op"] as? String == "ack", "\(created)")
            // Node 2 learns of the room from the log; until then the room looks public to it, so wait for the fold.
            let joined = try await askUntil(bob, ["op": "join", "room": "council"]) { code($0) == "not_member" }
            #expect(code(joined) == "not_member", "join on the other node: \(joined)")
            let cursor = try #require(created["cursor"] as? String)
            for (context, request) in [
                ("history", ["op": "history", "room": "council"]),
                ("send", ["op": "send", "room": "council", "cmid": "b1", "body": "let me in"]),
                ("typing", ["op": "typing", "room": "council"]),
                ("presence", ["op": "presence", "room": "council"]),
                ("read", ["op": "read", "room": "council", "cursor": cursor]),
                ("members", ["op": "members", "room": "council"]),
            ] as [(String, [String: Any])] {
                let reply = try await bob.ask(request)
                #expect(code(reply) == "not_member", "\(context) on the other node: \(reply)")
            }
            let bobToken = try await token("bob")
            let refused = try await http(.get, port: nodes[1].port, "/v1/rooms/council/messages", headers: [.authorization: "Bearer \(bobToken)"])
            #expect(refused.status == 403)
            #expect(json(refused.body)["code"] as? String == "not_member", "\(refused)")
            // Nothing Bob tried reached the room.
            #expect(bodies(try await alice.ask(["op": "history", "room": "council"])["messages"]).isEmpty)

            #expect(try await alice.ask(["op": "invite", "room": "council", "user": "bob"])["op"] as? String == "ack")
            let admitted = try await askUntil(bob, ["op": "join", "room": "council"]) { $0["op"] as? String == "joined" }
            #expect(admitted["op"] as? String == "joined", "join after the invite: \(admitted)")
            #expect(try await alice.join("council")["op"] as? String == "joined")
            #expect(try await alice.ask(["op": "send", "room": "council", "cmid": "a1", "body": "welcome"])["op"] as? String == "ack")
            try await bob.waitFor("alice's message on the other node") { $0["op"] as? String == "message" && $0["body"] as? String == "welcome" }
            #expect(try await bob.ask(["op": "send", "room": "council", "cmid": "b2", "body": "thanks"])["op"] as? String == "ack")
            let allowed = try await http(.get, port: nodes[1].port, "/v1/rooms/council/messages", headers: [.authorization: "Bearer \(bobToken)"])
            #expect(allowed.status == 200)
            #expect(bodies(json(allowed.body)["messages"]) == ["welcome", "thanks"])

            let kickSent = ContinuousClock.now
            #expect(try await alice.ask(["op": "kick", "room": "council", "user": "bob"])["op"] as? String == "ack")
            try await bob.waitFor("the end of the subscription", timeout: .seconds(5)) {
                $0["op"] as? String == "left" && $0["room"] as? String == "council" && $0["id"] == nil
            }
            let frames = bob.arrivals(op: "left", room: "council").filter { $0.object["id"] == nil }
            let ended = try #require(frames.first).arrived
            #expect(ended - kickSent < .seconds(1), "the kick on node 1 ended the subscription on node 2 after \(ended - kickSent)")
            let removal = bob.received(op: "member", room: "council").filter { $0["change"] as? String == "removed" }
            #expect(removal.map { $0["user"] as? String } == ["bob"], "a member event precedes left: \(bob.received(op: "member", room: "council"))")
            #expect(code(try await bob.ask(["op": "send", "room": "council", "cmid": "b3", "body": "still here?"])) == "not_member")
            #expect(code(try await bob.ask(["op": "join", "room": "council"])) == "not_member")
            await alice.close()
            await bob.close()
        }
    }

    @Test(
        "A ban racing a burst of sends, both orders: no reader ever shows a message of the banned user that follows the ban in the log, and every such send was refused, not acked"
    )
    func banRacingSends() async throws {
        let snapshots = FileManager.default.temporaryDirectory.appendingPathComponent("ban-race-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: snapshots) }
        try await withNodes(2, configure: { $0.snapshotDirectory = snapshots }) { cluster, nodes in
            let partition = RoomPartitioner(partitionCount: 8).partition(for: RoomName("arena")!)
            let alice = try await WSTestClient.connect(port: nodes[0].port, user: "alice")
            let carol = try await WSTestClient.connect(port: nodes[0].port, user: "carol")
            let bob = try await WSTestClient.connect(port: nodes[1].port, user: "bob")
            let dave = try await WSTestClient.connect(port: nodes[1].port, user: "dave")
            #expect(try await alice.ask(["op": "create", "room": "arena", "kind": "public"])["op"] as? String == "ack")
            for client in [alice, carol, bob, dave] {
                let joined = try await askUntil(client, ["op": "join", "room": "arena"]) { $0["op"] as? String == "joined" }
                #expect(joined["op"] as? String == "joined", "\(client.user): \(joined)")
            }
            // Order one, settled: a send acked before the ban was made is in the log before it.
            let early = try await bob.ask(["op": "send", "room": "arena", "cmid": "early", "body": "bob early"])
            #expect(early["op"] as? String == "ack", "\(early)")

            // The race: Bob keeps sending on node 2 from before the ban until well after its ack, while every
            // broker's answers are delayed. Node 2's fan-out reads the ban a round trip or more after it was
            // appended, so the sends node 2 checks in between pass its check and land after the ban in the
            // log: only the rule of the fold can refuse them.
            for broker: Int32 in 1...3 { try cluster.cluster.setBrokerRoundTripTime(broker, .milliseconds(200)) }
            var sent = 0
            func sendOne() {
                bob.send(["op": "send", "room": "arena", "cmid": "race\(sent)", "body": "bob \(sent)", "id": "race\(sent)"])
                sent += 1
            }
            for _ in 0..<5 { sendOne() }
            alice.send(["op": "ban", "room": "arena", "user": "bob", "id": "the-ban"])
            var banAcked: ContinuousClock.Instant?
            while banAcked.map({ ContinuousClock.now - $0 < .milliseconds(800) }) ?? true, sent < 500 {
                sendOne()
                try await Task.sleep(for: .milliseconds(20))
                if banAcked == nil, alice.receivedFrames.contains(where: { $0["id"] as? String == "the-ban" }) { banAcked = .now }
            }
            let ban = try await alice.reply(to: "the-ban")
            #expect(ban["op"] as? String == "ack", "\(ban)")
            let banOffset = try #require(offset(ban["cursor"]), "the ban's cursor: \(ban)")
            var acked: [String: Int64] = ["bob early": try #require(offset(early["cursor"]))]
            var refused: Set<String> = []
            for index in 0..<sent {
                let reply = try await bob.reply(to: "race\(index)", timeout: .seconds(30))
                switch reply["op"] as? String {
                case "ack": acked["bob \(index)"] = offset(reply["cursor"])
                case "error":
                    #expect(reply["code"] as? String == "forbidden", "send \(index): \(reply)")
                    refused.insert("bob \(index)")
                default: Issue.record("send \(index): \(reply)")
                }
            }
            for broker: Int32 in 1...3 { try cluster.cluster.setBrokerRoundTripTime(broker, .zero) }
            // Order two, settled: a send made once node 2 has read the ban is refused by the node itself.
            let late = try await bob.ask(["op": "send", "room": "arena", "cmid": "late", "body": "bob late"])
            #expect(code(late) == "forbidden", "a send after the ban: \(late)")
            refused.insert("bob late")
            #expect(acked.count + refused.count == sent + 2)
            // The log itself holds Bob's posts after the ban: the readers below must drop them.
            let kafka = KafkaConfiguration(bootstrapServers: cluster.bootstrap)
            let admin = try KafkaAdmin(configuration: kafka, logger: testLogger("test.admin"))
            let high = try await admin.watermarks(topic: ChatTopics.rooms, partition: partition).high
            await admin.close()
            let reader = PartitionRangeReader(configuration: kafka, topic: ChatTopics.rooms, logger: testLogger("test.reader"))
            var afterBan: [String] = []
            for try await record in reader.records(partition: partition, from: banOffset + 1, to: high) {
                guard let event = RoomEvent(decoding: record.value), event.from == "bob", case .message(_, let body) = event.kind else { continue }
                afterBan.append(body)
            }
            #expect(!afterBan.isEmpty, "node 2 produced sends after the ban before reading it (the race happened)")
            for body in afterBan { #expect(refused.contains(body), "\(body) follows the ban in the log and was not refused") }
            for (body, at) in acked { #expect(at < banOffset, "\(body) acked at \(at), after the ban at \(banOffset)") }
            // Everything acked before the ban, in the order of its offsets, is the room's history from Bob.
            let expected = acked.sorted { $0.value < $1.value }.map(\.key)

            // The subscribers on both nodes saw the ban as a member event at the ban's cursor.
            for client in [carol, dave] {
                let banned = try await client.waitFor("the ban") { $0["op"] as? String == "member" && $0["change"] as? String == "banned" }
                #expect(offset(banned["cursor"]) == banOffset, "\(client.user): \(banned)")
            }
            #expect(try await alice.ask(["op": "send", "room": "arena", "cmid": "end", "body": "end"])["op"] as? String == "ack")
            for client in [carol, dave] {
                try await client.waitFor("the end marker") { $0["op"] as? String == "message" && $0["body"] as? String == "end" }
                let live = client.received(op: "message", room: "arena").filter { $0["from"] as? String == "bob" }
                #expect(live.compactMap { $0["body"] as? String } == expected, "live on \(client.user)'s node")
            }
            let fromBob = { (bodies: [String]) in bodies.filter { $0.hasPrefix("bob ") } }
            let history = try await dave.ask(["op": "history", "room": "arena", "limit": 200])
            #expect(fromBob(bodies(history["messages"])) == expected, "WebSocket history")
            let carolToken = try await token("carol")
            for node in nodes {
                let page = try await http(
                    .get, port: node.port, "/v1/rooms/arena/messages?limit=200", headers: [.authorization: "Bearer \(carolToken)"])
                #expect(fromBob(bodies(json(page.body)["messages"])) == expected, "HTTP history on port \(node.port): \(page.status)")
            }

            let connection = ["--brokers", cluster.bootstrap, "--snapshots", snapshots]
            let fromLog = try await chatctl(["replay", "--room", "arena", "--format", "jsonl"] + connection)
            #expect(fromBob(fromLog.compactMap { $0["body"] as? String }) == expected, "replay from the log")
            _ = try await chatctl(["compact"] + connection)
            let fromSnapshots = try await chatctl(["replay", "--room", "arena", "--format", "jsonl"] + connection)
            #expect(fromBob(fromSnapshots.compactMap { $0["body"] as? String }) == expected, "replay after compaction")
            let events = try await chatctl(["replay", "--room", "arena", "--format", "jsonl", "--events"] + connection)
            #expect(events.contains { $0["source"] as? String == "snapshot" }, "the compaction wrote snapshots of the room")
            let compacted = try await carol.ask(["op": "history", "room": "arena", "limit": 200])
            #expect(fromBob(bodies(compacted["messages"])) == expected, "WebSocket history after compaction")
            for client in [alice, carol, bob, dave] { await client.close() }
        }
    }

    @Test("A DM opened by both users at once on two nodes is one room of exactly the two")
    func directMessageOpenedByBoth() async throws {
        try await withNodes(2) { _, nodes in
            let alice = try await WSTestClient.connect(port: nodes[0].port, user: "alice")
            let bob = try await WSTestClient.connect(port: nodes[1].port, user: "bob")
            let carol = try await WSTestClient.connect(port: nodes[1].port, user: "carol")
            alice.send(["op": "dm", "user": "bob", "id": "dm-a"])
            bob.send(["op": "dm", "user": "alice", "id": "dm-b"])
            let (fromAlice, fromBob) = (try await alice.reply(to: "dm-a"), try await bob.reply(to: "dm-b"))
            #expect(fromAlice["op"] as? String == "dm", "\(fromAlice)")
            #expect(fromBob["op"] as? String == "dm", "\(fromBob)")
            let room = try #require(fromAlice["room"] as? String)
            #expect(fromBob["room"] as? String == room)
            for client in [alice, bob] {
                let listed = try await askUntil(client, ["op": "members", "room": room]) { ($0["members"] as? [Any])?.count == 2 }
                #expect(listed["kind"] as? String == "dm", "\(listed)")
                #expect((listed["members"] as? [[String: Any]] ?? []).compactMap { $0["user"] as? String }.sorted() == ["alice", "bob"])
                #expect(try await client.join(room)["op"] as? String == "joined")
            }
            #expect(try await alice.ask(["op": "send", "room": room, "cmid": "d1", "body": "just us"])["op"] as? String == "ack")
            try await bob.waitFor("the DM on the other node") { $0["op"] as? String == "message" && $0["body"] as? String == "just us" }
            #expect(code(try await carol.ask(["op": "join", "room": room])) == "not_member")
            #expect(code(try await carol.ask(["op": "send", "room": room, "cmid": "c1", "body": "hi"])) == "not_member")
            #expect(code(try await bob.ask(["op": "invite", "room": room, "user": "carol"])) == "forbidden")
            // The log holds one creation of the room: the second opener found it made.
            let history = try await bob.ask(["op": "history", "room": room])
            #expect(bodies(history["messages"]) == ["just us"])
            for client in [alice, bob, carol] { await client.close() }
        }
    }

    @Test("A mute made on one node holds on the other until its time, and a moderator there deletes another member's message")
    func muteAndModerationAcrossNodes() async throws {
        try await withNodes(2) { _, nodes in
            let alice = try await WSTestClient.connect(port: nodes[0].port, user: "alice")
            let bob = try await WSTestClient.connect(port: nodes[1].port, user: "bob")
            let carol = try await WSTestClient.connect(port: nodes[1].port, user: "carol")
            #expect(try await alice.ask(["op": "create", "room": "hall", "kind": "private"])["op"] as? String == "ack")
            for user in ["bob", "carol"] { #expect(try await alice.ask(["op": "invite", "room": "hall", "user": user])["op"] as? String == "ack") }
            for client in [alice, bob, carol] {
                let joined = try await askUntil(client, ["op": "join", "room": "hall"]) { $0["op"] as? String == "joined" }
                #expect(joined["op"] as? String == "joined", "\(client.user): \(joined)")
            }
            let posted = try await bob.ask(["op": "send", "room": "hall", "cmid": "b1", "body": "first"])
            let message = try #require(posted["msgId"] as? String, "\(posted)")
            #expect(code(try await carol.ask(["op": "delete", "room": "hall", "msgId": message])) == "forbidden", "a plain member's delete")

            #expect(try await alice.ask(["op": "role", "room": "hall", "user": "carol", "role": "moderator"])["op"] as? String == "ack")
            try await carol.waitFor("the role on the other node") { $0["op"] as? String == "member" && $0["change"] as? String == "role" }
            #expect(try await carol.ask(["op": "delete", "room": "hall", "msgId": message])["op"] as? String == "ack", "a moderator's delete")
            try await alice.waitFor("the delete on the first node") { $0["op"] as? String == "deleted" && $0["msgId"] as? String == message }
            #expect(bodies(try await alice.ask(["op": "history", "room": "hall"])["messages"]).isEmpty)

            let until = Int64(Date().timeIntervalSince1970 * 1000) + 2000
            #expect(try await alice.ask(["op": "mute", "room": "hall", "user": "bob", "until": until])["op"] as? String == "ack")
            // Bob's own node has read the mute once its member event reached him.
            try await bob.waitFor("the mute") { $0["op"] as? String == "member" && $0["change"] as? String == "muted" }
            let muted = try await bob.ask(["op": "send", "room": "hall", "cmid": "b2", "body": "muted"])
            #expect(code(muted) == "forbidden", "\(muted)")
            while Int64(Date().timeIntervalSince1970 * 1000) <= until + 50 { try await Task.sleep(for: .milliseconds(100)) }
            #expect(try await bob.ask(["op": "send", "room": "hall", "cmid": "b3", "body": "unmuted"])["op"] as? String == "ack")
            try await alice.waitFor("the post after the mute") { $0["op"] as? String == "message" && $0["body"] as? String == "unmuted" }
            #expect(bodies(try await alice.ask(["op": "history", "room": "hall"])["messages"]) == ["unmuted"])
            for client in [alice, bob, carol] { await client.close() }
        }
    }

    /// Runs `chatctl` to completion; its jsonl output lines, parsed.
    private func chatctl(_ arguments: [String]) async throws -> [[String: Any]] {
        let process = try ChildProcess("chatctl", arguments)
        let status = await process.wait(timeout: .seconds(60))
        #expect(status == 0, "chatctl \(arguments.joined(separator: " ")): \(process.outputText)")
        return process.stdout.lines.filter { $0.hasPrefix("{") }.map(json)
    }
}
