import ChatGateway
import Foundation
import NIOWebSocket
import Testing

@Suite("Bad input gets a clear error and loses nothing", .timeLimit(.minutes(2)))
struct BadInputTests {
    @Test("Malformed frames get an error and the session stays open")
    func malformedFrames() async throws {
        try await withNodes(1) { _, nodes in
            let client = try await WSTestClient.connect(port: nodes[0].port, user: "fuzz")
            let cases: [(String, String, String)] = [
                ("1", #"{"op":"ping""#, "bad_request"),
                ("2", #"[1,2,3]"#, "bad_request"),
                ("3", #"{"op":"teleport","id":"3"}"#, "bad_request"),
                ("4", #"{"op":"send","id":"4","room":"lobby","body":"x"}"#, "bad_request"),
                ("5", #"{"op":"join","id":"5","room":"no spaces!"}"#, "bad_request"),
                ("6", #"{"op":"join","id":"6","room":""}"#, "bad_request"),
                ("7", #"{"op":"send","id":"7","room":"lobby","cmid":"c","body":"\#(String(repeating: "x", count: 4097))"}"#, "too_large"),
                ("8", #"{"op":"send","id":"8","room":"lobby","cmid":"c","body":"hi"}"#, "not_joined"),
                ("9", #"{"op":"join","id":"9","room":"lobby","since":"not-a-cursor"}"#, "bad_request"),
                ("10", #"{"op":"history","id":"10","room":"lobby","limit":500}"#, "bad_request"),
                ("11", #"{"op":"send","id":"11","room":"lobby","cmid":"","body":"x"}"#, "bad_request"),
                ("12", #"{"op":"send","id":"12","room":42,"cmid":"c","body":"x"}"#, "bad_request"),
                ("13", #"{"op":"leave","id":"13","room":"lobby"}"#, "not_joined"),
                ("14", #"{"op":"join","id":"14","room":"\#(String(repeating: "r", count: 129))"}"#, "bad_request"),
            ]
            for (_, frame, _) in cases { client.send(raw: frame) }
            client.send(["op": "ping", "id": 99])
            try await client.waitFor("pong") { $0["op"] as? String == "pong" }
            let errors = client.received(op: "error")
            #expect(errors.count == cases.count, "one error per bad frame")
            for (id, _, code) in cases where Int(id)! >= 3 {
                let error = errors.first { $0["id"] as? String == id }
                #expect(error?["code"] as? String == code, "frame \(id)")
                #expect((error?["message"] as? String)?.isEmpty == false)
            }
            #expect(client.received(op: "pong").first?["id"] as? Int == 99, "a numeric id is echoed as a number")
            let joined = try await client.join("lobby")
            #expect(joined["op"] as? String == "joined", "the session still works")
            await client.close()
        }
    }

    @Test("A frame over the limit closes the session with 1009")
    func oversizedFrame() async throws {
        try await withNodes(1, configure: { $0.gateway.maxFrameBytes = 8 * 1024 }) { _, nodes in
            let client = try await WSTestClient.connect(port: nodes[0].port, user: "big")
            client.send(raw: #"{"op":"ping","pad":"\#(String(repeating: "x", count: 9000))"}"#)
            #expect(await client.closeCode() == .messageTooLarge)
        }
    }

    @Test("No token, a bad signature or an expired token: the upgrade gets HTTP 401 and no session")
    func badTokens() async throws {
        try await withNodes(1) { _, nodes in
            let port = nodes[0].port
            let foreign = try await TokenAuthority(mode: .sharedSecret("another-secret-that-is-32-bytes-long"))
            let forged = try await foreign.issue(user: "eve")
            let expired = try await token("old", lifetime: -60)
            for bad in ["", "not.a.jwt", forged, expired] {
                // A real upgrade request: a plain GET takes another path through the server.
                let response = try await rawUpgrade(port: port, path: "/v1/ws?token=\(bad)")
                #expect(response.status == 401, "token \(bad.prefix(12))")
                #expect(json(response.body)["op"] as? String == "error")
                #expect(json(response.body)["code"] as? String == "unauthorized")
                await #expect(throws: (any Error).self) { _ = try await WSTestClient.connect(port: port, user: "eve", token: bad) }
            }
            let expiredBody = try await rawUpgrade(port: port, path: "/v1/ws?token=\(expired)").body
            #expect((json(expiredBody)["message"] as? String)?.contains("expired") == true)
            let plain = try await http(.get, port: port, "/v1/ws?token=\(expired)")
            #expect(plain.status == 401, "a plain GET without upgrade headers is refused the same way")
            #expect(json(plain.body)["code"] as? String == "unauthorized")
            let metrics = try await http(.get, port: port, "/metrics").body
            #expect(metrics.contains("chat_sessions 0"), "no session was created")
        }
    }

    @Test("A room the token does not allow is forbidden")
    func forbiddenRoom() async throws {
        try await withNodes(1) { _, nodes in
            let limited = try await token("guest", rooms: ["public-*", "help"])
            let client = try await WSTestClient.connect(port: nodes[0].port, user: "guest", token: limited)
            client.send(["op": "join", "id": "a", "room": "secret"])
            #expect(try await client.reply(to: "a")["code"] as? String == "forbidden")
            #expect(try await client.join("public-1")["op"] as? String == "joined")
            #expect(try await client.join("help")["op"] as? String == "joined")
            client.send(["op": "history", "id": "h", "room": "secret"])
            #expect(try await client.reply(to: "h")["code"] as? String == "forbidden")
            await client.close()
        }
    }

    @Test("Only the author may edit or delete; edits and deletes reach the room")
    func editAndDelete() async throws {
        try await withNodes(1) { _, nodes in
            let alice = try await WSTestClient.connect(port: nodes[0].port, user: "alice")
            let bob = try await WSTestClient.connect(port: nodes[0].port, user: "bob")
            _ = try await alice.join("edits")
            _ = try await bob.join("edits")
            alice.send(["op": "send", "id": "s", "room": "edits", "cmid": "c1", "body": "typo"])
            let msgId = try #require(try await alice.reply(to: "s")["msgId"] as? String)
            bob.send(["op": "edit", "id": "e1", "room": "edits", "msgId": msgId, "body": "hijack"])
            #expect(try await bob.reply(to: "e1")["code"] as? String == "forbidden")
            alice.send(["op": "edit", "id": "e2", "room": "edits", "msgId": msgId, "body": "fixed"])
            #expect(try await alice.reply(to: "e2")["op"] as? String == "ack")
            let edited = try await bob.waitFor("edited") { $0["op"] as? String == "edited" }
            #expect(edited["body"] as? String == "fixed")
            #expect(edited["msgId"] as? String == msgId)
            alice.send(["op": "send", "id": "s2", "room": "edits", "cmid": "c2", "body": "second"])
            let second = try #require(try await alice.reply(to: "s2")["msgId"] as? String)
            alice.send(["op": "delete", "id": "d", "room": "edits", "msgId": second])
            #expect(try await alice.reply(to: "d")["op"] as? String == "ack")
            try await bob.waitFor("deleted") { $0["op"] as? String == "deleted" && $0["msgId"] as? String == second }
            alice.send(["op": "edit", "id": "e3", "room": "edits", "msgId": "999999", "body": "nothing"])
            #expect(try await alice.reply(to: "e3")["code"] as? String == "not_found", "an unknown msgId is not_found (protocol.md)")
            bob.send(["op": "history", "id": "h", "room": "edits"])
            let history = try await bob.reply(to: "h")["messages"] as? [[String: Any]]
            #expect(history?.map { $0["body"] as? String } == ["fixed"], "edits applied, deleted messages absent")
            await alice.close()
            await bob.close()
        }
    }
}
