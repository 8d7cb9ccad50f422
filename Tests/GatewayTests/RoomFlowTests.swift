import Foundation
import Testing

@Suite("Rooms on one node", .timeLimit(.minutes(2)))
struct RoomFlowTests {
    @Test("Two clients in a room: send, ack with cursor, both receive the message, cursors strictly increase")
    func twoClients() async throws {
        try await withNodes(1) { _, nodes in
            let alice = try await WSTestClient.connect(port: nodes[0].port, user: "alice")
            let bob = try await WSTestClient.connect(port: nodes[0].port, user: "bob")
            let joined = try await alice.join("lobby")
            #expect(joined["op"] as? String == "joined")
            #expect(joined["recovered"] as? Bool == true)
            #expect(joined["cursor"] is String)
            #expect(joined["epoch"] is String)
            _ = try await bob.join("lobby")

            for index in 0..<20 {
                alice.send(["op": "send", "id": "s\(index)", "room": "lobby", "cmid": "c\(index)", "body": "hello \(index)"])
            }
            var acks: [[String: Any]] = []
            for index in 0..<20 { acks.append(try await alice.reply(to: "s\(index)")) }
            for (index, ack) in acks.enumerated() {
                #expect(ack["op"] as? String == "ack")
                #expect(ack["cmid"] as? String == "c\(index)")
                #expect(ack["room"] as? String == "lobby")
                #expect(ack["msgId"] is String)
                #expect(ack["cursor"] is String)
                #expect((ack["ts"] as? Int ?? 0) > 1_600_000_000_000)
            }
            let aliceMessages = try await alice.waitForCount(20, op: "message", room: "lobby")
            let bobMessages = try await bob.waitForCount(20, op: "message", room: "lobby")
            #expect(bobMessages.map { $0["body"] as? String } == (0..<20).map { "hello \($0)" })
            #expect(aliceMessages.map { $0["msgId"] as? String } == bobMessages.map { $0["msgId"] as? String })
            #expect(bobMessages.allSatisfy { $0["from"] as? String == "alice" })
            let offsets = bobMessages.compactMap { ($0["cursor"] as? String)?.split(separator: ".").last.flatMap { Int($0) } }
            #expect(offsets.count == 20)
            #expect(zip(offsets, offsets.dropFirst()).allSatisfy { $0 < $1 }, "cursors strictly increase")
            #expect(acks.map { $0["cursor"] as? String } == bobMessages.map { $0["cursor"] as? String })
            await alice.close()
            await bob.close()
        }
    }

    @Test("A retried send (same cmid) on the same node and on another node: one message, identical acks")
    func retriedSend() async throws {
        try await withNodes(2) { _, nodes in
            let first = try await WSTestClient.connect(port: nodes[0].port, user: "carol")
            let watcher = try await WSTestClient.connect(port: nodes[1].port, user: "dave")
            _ = try await first.join("retry-room")
            _ = try await watcher.join("retry-room")
            first.send(["op": "send", "id": "a", "room": "retry-room", "cmid": "same", "body": "only once"])
            let original = try await first.reply(to: "a")
            first.send(["op": "send", "id": "b", "room": "retry-room", "cmid": "same", "body": "only once"])
            let sameNode = try await first.reply(to: "b")

            let second = try await WSTestClient.connect(port: nodes[1].port, user: "carol")
            _ = try await second.join("retry-room")
            second.send(["op": "send", "id": "c", "room": "retry-room", "cmid": "same", "body": "only once"])
            let otherNode = try await second.reply(to: "c")
            for ack in [sameNode, otherNode] {
                #expect(ack["op"] as? String == "ack")
                #expect(ack["msgId"] as? String == original["msgId"] as? String)
                #expect(ack["cursor"] as? String == original["cursor"] as? String)
                #expect(ack["ts"] as? Int == original["ts"] as? Int)
            }
            // A marker sent after the retries proves the watcher saw everything before it.
            first.send(["op": "send", "id": "m", "room": "retry-room", "cmid": "marker", "body": "marker"])
            _ = try await first.reply(to: "m")
            try await watcher.waitFor("marker") { $0["body"] as? String == "marker" }
            #expect(watcher.received(op: "message", room: "retry-room").filter { $0["body"] as? String == "only once" }.count == 1)
            await first.close()
            await second.close()
            await watcher.close()
        }
    }

    @Test("Concurrent retries of one cmid on two nodes resolve to the same message everywhere")
    func concurrentRetries() async throws {
        try await withNodes(2) { _, nodes in
            let one = try await WSTestClient.connect(port: nodes[0].port, user: "erin")
            let two = try await WSTestClient.connect(port: nodes[1].port, user: "erin")
            _ = try await one.join("race")
            _ = try await two.join("race")
            for index in 0..<10 {
                one.send(["op": "send", "id": "x\(index)", "room": "race", "cmid": "r\(index)", "body": "race \(index)"])
                two.send(["op": "send", "id": "y\(index)", "room": "race", "cmid": "r\(index)", "body": "race \(index)"])
            }
            for index in 0..<10 {
                let x = try await one.reply(to: "x\(index)")
                let y = try await two.reply(to: "y\(index)")
                #expect(x["msgId"] as? String == y["msgId"] as? String, "both retries of r\(index) ack the same message")
            }
            let seenByOne = try await one.waitForCount(10, op: "message", room: "race")
            let seenByTwo = try await two.waitForCount(10, op: "message", room: "race")
            try await Task.sleep(for: .milliseconds(300))
            #expect(one.received(op: "message", room: "race").count == 10)
            #expect(seenByOne.map { $0["msgId"] as? String } == seenByTwo.map { $0["msgId"] as? String })
            await one.close()
            await two.close()
        }
    }

    @Test("History returns the newest messages oldest first, with paging by cursor")
    func history() async throws {
        try await withNodes(1) { _, nodes in
            let alice = try await WSTestClient.connect(port: nodes[0].port, user: "alice")
            _ = try await alice.join("archive")
            for index in 0..<30 {
                alice.send(["op": "send", "id": "s\(index)", "room": "archive", "cmid": "c\(index)", "body": "m\(index)"])
            }
            _ = try await alice.reply(to: "s29")
            alice.send(["op": "history", "id": "h1", "room": "archive", "limit": 10])
            let page = try await alice.reply(to: "h1")
            let messages = try #require(page["messages"] as? [[String: Any]])
            #expect(messages.map { $0["body"] as? String } == (20..<30).map { "m\($0)" })
            #expect(page["more"] as? Bool == true)
            let before = try #require(messages.first?["cursor"] as? String)
            alice.send(["op": "history", "id": "h2", "room": "archive", "limit": 50, "before": before])
            let older = try await alice.reply(to: "h2")
            #expect((older["messages"] as? [[String: Any]])?.map { $0["body"] as? String } == (0..<20).map { "m\($0)" })
            #expect(older["more"] as? Bool == false)

            let reader = try await token("reader")
            let response = try await http(.get, port: nodes[0].port, "/v1/rooms/archive/messages?limit=5&token=\(reader)")
            #expect(response.status == 200)
            #expect((json(response.body)["messages"] as? [[String: Any]])?.map { $0["body"] as? String } == (25..<30).map { "m\($0)" })
            await alice.close()
        }
    }

    @Test("Server-side publish API with an admin token")
    func publishAPI() async throws {
        try await withNodes(1) { _, nodes in
            let listener = try await WSTestClient.connect(port: nodes[0].port, user: "listener")
            _ = try await listener.join("news")
            let admin = try await token("ops", admin: true)
            let body = #"{"cmid":"p1","body":"server says hi","from":"system"}"#
            let created = try await http(
                .post, port: nodes[0].port, "/v1/rooms/news/messages", headers: [.authorization: "Bearer \(admin)"], body: body)
            #expect(created.status == 201)
            #expect(json(created.body)["msgId"] is String)
            let again = try await http(
                .post, port: nodes[0].port, "/v1/rooms/news/messages", headers: [.authorization: "Bearer \(admin)"], body: body)
            #expect(json(again.body)["msgId"] as? String == json(created.body)["msgId"] as? String, "a retried publish is one message")
            let message = try await listener.waitFor("published message") { $0["op"] as? String == "message" }
            #expect(message["from"] as? String == "system")
            #expect(message["body"] as? String == "server says hi")
            let user = try await token("mallory")
            let refused = try await http(
                .post, port: nodes[0].port, "/v1/rooms/news/messages", headers: [.authorization: "Bearer \(user)"], body: body)
            #expect(refused.status == 403)
            await listener.close()
        }
    }
}
