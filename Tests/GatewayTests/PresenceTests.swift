import ChatDomain
import Foundation
import Testing

@Suite("Presence, typing and read positions", .timeLimit(.minutes(2)))
struct PresenceTests {
    @Test("Online across nodes; two tabs: closing one keeps the user online, closing both makes them offline")
    func onlineAcrossNodes() async throws {
        try await withNodes(2) { _, nodes in
            let watcher = try await WSTestClient.connect(port: nodes[1].port, user: "watcher")
            _ = try await watcher.join("team")
            let tab1 = try await WSTestClient.connect(port: nodes[0].port, user: "alice")
            _ = try await tab1.join("team")
            try await watcher.waitFor("alice online") {
                $0["op"] as? String == "presence.changed" && $0["user"] as? String == "alice" && $0["status"] as? String == "online"
            }
            watcher.send(["op": "presence", "id": "p1", "room": "team"])
            #expect(try await watcher.reply(to: "p1")["online"] as? [String] == ["alice", "watcher"])

            let tab2 = try await WSTestClient.connect(port: nodes[1].port, user: "alice")
            _ = try await tab2.join("team")
            await tab1.close()
            try await Task.sleep(for: .milliseconds(500))
            watcher.send(["op": "presence", "id": "p2", "room": "team"])
            #expect(try await watcher.reply(to: "p2")["online"] as? [String] == ["alice", "watcher"], "one tab left: still online")
            #expect(!watcher.received(op: "presence.changed").contains { $0["user"] as? String == "alice" && $0["status"] as? String == "offline" })

            await tab2.close()
            try await watcher.waitFor("alice offline") {
                $0["op"] as? String == "presence.changed" && $0["user"] as? String == "alice" && $0["status"] as? String == "offline"
            }
            watcher.send(["op": "presence", "id": "p3", "room": "team"])
            #expect(try await watcher.reply(to: "p3")["online"] as? [String] == ["watcher"])
            await watcher.close()
        }
    }

    @Test("A client that stops answering pings is dropped and marked offline")
    func deadClient() async throws {
        try await withNodes(2, configure: { $0.gateway.pingInterval = .milliseconds(500) }) { _, nodes in
            let watcher = try await WSTestClient.connect(port: nodes[1].port, user: "watcher")
            _ = try await watcher.join("pings")
            let sleepy = try await WSTestClient.connect(port: nodes[0].port, user: "sleepy")
            _ = try await sleepy.join("pings")
            try await watcher.waitFor("sleepy online") { $0["op"] as? String == "presence.changed" && $0["user"] as? String == "sleepy" }
            // Pings are answered inside the client's read loop; once it is parked on the next data
            // frame it stops answering, like a frozen client.
            sleepy.pauseReading()
            watcher.send(["op": "send", "id": "wake", "room": "pings", "cmid": "wake", "body": "anyone?"])
            try await watcher.waitFor("sleepy offline", timeout: .seconds(15)) {
                $0["op"] as? String == "presence.changed" && $0["user"] as? String == "sleepy" && $0["status"] as? String == "offline"
            }
            let metrics = try await http(.get, port: nodes[0].port, "/metrics").body
            #expect(metrics.contains("chat_sessions 0"), "the server dropped the silent session")
            sleepy.abort()
            await watcher.close()
        }
    }

    @Test("Typing reaches the other members and never appears in history")
    func typing() async throws {
        try await withNodes(2) { _, nodes in
            let alice = try await WSTestClient.connect(port: nodes[0].port, user: "alice")
            let bob = try await WSTestClient.connect(port: nodes[1].port, user: "bob")
            _ = try await alice.join("chat")
            _ = try await bob.join("chat")
            alice.send(["op": "typing", "room": "chat"])
            let typing = try await bob.waitFor("typing") { $0["op"] as? String == "typing" }
            #expect(typing["user"] as? String == "alice")
            #expect(typing["room"] as? String == "chat")
            alice.send(["op": "send", "id": "s", "room": "chat", "cmid": "c", "body": "hello"])
            _ = try await alice.reply(to: "s")
            bob.send(["op": "history", "id": "h", "room": "chat"])
            let history = try await bob.reply(to: "h")
            #expect((history["messages"] as? [[String: Any]])?.map { $0["body"] as? String } == ["hello"])
            #expect(alice.received(op: "typing").isEmpty, "the typist does not get their own typing")
            await alice.close()
            await bob.close()
        }
    }

    @Test("Read position survives reconnects and node changes; unread is exact")
    func readPositions() async throws {
        try await withNodes(2) { _, nodes in
            let writer = try await WSTestClient.connect(port: nodes[0].port, user: "writer")
            _ = try await writer.join("inbox")
            for index in 0..<10 {
                writer.send(["op": "send", "id": "s\(index)", "room": "inbox", "cmid": "c\(index)", "body": "\(index)"])
            }
            _ = try await writer.reply(to: "s9")
            let reader = try await WSTestClient.connect(port: nodes[0].port, user: "reader")
            let first = try await reader.join("inbox")
            #expect(first["unread"] == nil, "no read position yet")
            reader.send(["op": "history", "id": "h", "room": "inbox"])
            let messages = try await reader.reply(to: "h")["messages"] as? [[String: Any]] ?? []
            #expect(messages.count == 10)
            let cursorOfFourth = try #require(messages[3]["cursor"] as? String)
            reader.send(["op": "read", "room": "inbox", "cursor": cursorOfFourth])
            let readEvent = try await writer.waitFor("read event") { $0["op"] as? String == "read" }
            #expect(readEvent["user"] as? String == "reader")
            #expect(readEvent["cursor"] as? String == cursorOfFourth)
            await reader.close()

            // Another node, later: 6 messages after the fourth, then 2 more.
            writer.send(["op": "send", "id": "s10", "room": "inbox", "cmid": "c10", "body": "10"])
            writer.send(["op": "send", "id": "s11", "room": "inbox", "cmid": "c11", "body": "11"])
            _ = try await writer.reply(to: "s11")
            // `read` has no reply: the position reaches the other node through chat.cursors.
            let again = try await WSTestClient.connect(port: nodes[1].port, user: "reader")
            let joined = try await joinWhenUnread(again, room: "inbox", is: 8)
            #expect(joined["unread"] as? Int == 8)
            // An edit changes nothing; a delete of an unread message lowers the count.
            writer.send(["op": "delete", "id": "d", "room": "inbox", "msgId": messages[9]["msgId"] as! String])
            try await Task.sleep(for: .milliseconds(300))
            await again.close()
            let third = try await WSTestClient.connect(port: nodes[0].port, user: "reader")
            #expect(try await third.join("inbox")["unread"] as? Int == 7)
            // Positions never move back.
            third.send(["op": "read", "room": "inbox", "cursor": messages[1]["cursor"] as! String])
            try await Task.sleep(for: .milliseconds(300))
            await third.close()
            let fourth = try await WSTestClient.connect(port: nodes[1].port, user: "reader")
            let last = try await joinWhenUnread(fourth, room: "inbox", is: 7)
            #expect(last["unread"] as? Int == 7, "unread on the other node: \(last)")
            await fourth.close()
            await writer.close()
        }
    }

    @Test("Typing, read and presence need a joined room; a malformed cursor is a bad request")
    func badInput() async throws {
        try await withNodes(1) { _, nodes in
            let client = try await WSTestClient.connect(port: nodes[0].port, user: "x")
            client.send(["op": "typing", "id": "t", "room": "nowhere"])
            client.send(["op": "read", "id": "r", "room": "nowhere", "cursor": "0000000000000000.0.1"])
            client.send(["op": "presence", "id": "p", "room": "nowhere"])
            for id in ["t", "r", "p"] { #expect(try await client.reply(to: id)["code"] as? String == "not_joined") }
            _ = try await client.join("somewhere")
            client.send(["op": "read", "id": "bad", "room": "somewhere", "cursor": "garbage"])
            #expect(try await client.reply(to: "bad")["code"] as? String == "bad_request")
            client.send(["op": "read", "id": "foreign", "room": "somewhere", "cursor": "0123456789abcdef.0.1"])
            #expect(try await client.reply(to: "foreign")["code"] as? String == "bad_request")
            await client.close()
        }
    }

    /// Joins `room` until its `unread` is `expected` (a read position is stored asynchronously and
    /// reaches other nodes through `chat.cursors`), for at most ten seconds; returns the last `joined`.
    private func joinWhenUnread(_ client: WSTestClient, room: String, is expected: Int) async throws -> [String: Any] {
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        var attempt = 0
        while true {
            let joined = try await client.join(room)
            if joined["unread"] as? Int == expected || ContinuousClock.now >= deadline { return joined }
            attempt += 1
            client.send(["op": "leave", "id": "unread-leave-\(attempt)", "room": room])
            _ = try await client.reply(to: "unread-leave-\(attempt)")
            try await Task.sleep(for: .milliseconds(100))
        }
    }
}
