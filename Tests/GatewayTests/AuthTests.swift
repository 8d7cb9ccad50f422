import ChatGateway
import ChatServer
import ChatTestSupport
import Foundation
import HTTPTypes
import NIOWebSocket
import Testing

@Suite("Auth fails closed", .timeLimit(.minutes(3)))
struct AuthTests {
    @Test("An upgrade with no, a bad, a forged or an expired token: 401 with a JSON error body, no session")
    func refusedUpgrades() async throws {
        try await withNodes(1) { _, nodes in
            let port = nodes[0].port
            let foreign = try await TokenAuthority(mode: .sharedSecret("another-secret-that-is-32-bytes-long"))
            let forged = try await foreign.issue(user: "eve")
            let expired = try await token("old", lifetime: -60)
            let attempts: [(String, [(String, String)], String)] = [
                ("/v1/ws", [], "missing token"),
                ("/v1/ws?token=not.a.jwt", [], "invalid token"),
                ("/v1/ws?token=\(forged)", [], "invalid token"),
                ("/v1/ws", [("Authorization", "Bearer \(expired)")], "expired"),
                ("/v1/ws", [("Sec-WebSocket-Protocol", "bearer.\(forged)")], "invalid token"),
            ]
            for (path, headers, reason) in attempts {
                let response = try await rawUpgrade(port: port, path: path, headers: headers)
                #expect(response.statusLine.hasPrefix("HTTP/1.1 401"), "\(reason): \(response.statusLine)")
                #expect(response.headers["content-type"] == "application/json")
                let body = json(response.body)
                #expect(body["op"] as? String == "error", "\(reason): \(response.body)")
                #expect(body["code"] as? String == "unauthorized")
                #expect((body["message"] as? String)?.contains(reason) == true, "\(reason): \(response.body)")
            }
            let metrics = try await http(.get, port: port, "/metrics").body
            #expect(metrics.contains("chat_sessions 0"), "no session was created")
        }
    }

    @Test("An upgrade from a refused Origin: 403 with a JSON error body")
    func refusedOrigin() async throws {
        try await withNodes(1, configure: { $0.gateway.allowedOrigins = ["https://chat.example"] }) { _, nodes in
            let port = nodes[0].port
            let valid = try await token("alice")
            let refused = try await rawUpgrade(port: port, path: "/v1/ws?token=\(valid)", headers: [("Origin", "https://evil.example")])
            #expect(refused.status == 403)
            #expect(json(refused.body)["op"] as? String == "error")
            #expect(json(refused.body)["code"] as? String == "forbidden")
            #expect((json(refused.body)["message"] as? String)?.contains("evil.example") == true)
            let allowed = try await rawUpgrade(port: port, path: "/v1/ws?token=\(valid)", headers: [("Origin", "https://chat.example")])
            #expect(allowed.status == 101)
        }
    }

    @Test("A token offered as the subprotocol bearer.<jwt> is accepted and selected")
    func subprotocolToken() async throws {
        try await withNodes(1) { _, nodes in
            let port = nodes[0].port
            let valid = try await token("sub")
            let response = try await rawUpgrade(port: port, headers: [("Sec-WebSocket-Protocol", "chat.v1, bearer.\(valid)")])
            #expect(response.status == 101)
            #expect(response.headers["sec-websocket-protocol"] == "bearer.\(valid)")

            let client = try await WSTestClient.connect(
                port: port, user: "sub", headers: [.secWebSocketProtocol: "bearer.\(valid)"], tokenInURL: false)
            #expect(try await client.join("sub-room")["op"] as? String == "joined")
            await client.close()
        }
    }

    @Test("A session ends with 4001 when its token expires")
    func expiryCloses() async throws {
        try await withNodes(1) { _, nodes in
            let shortLived = try await token("brief", lifetime: 2)
            let client = try await WSTestClient.connect(port: nodes[0].port, user: "brief", token: shortLived)
            #expect(try await client.join("expiry")["op"] as? String == "joined")
            #expect(await client.closeCode(timeout: .seconds(15)) == WebSocketErrorCode(codeNumber: 4001))
        }
    }

    @Test("auth with a fresh token keeps the session open past the first expiry")
    func refreshKeepsSessionOpen() async throws {
        try await withNodes(1) { _, nodes in
            let client = try await WSTestClient.connect(port: nodes[0].port, user: "renew", token: try await token("renew", lifetime: 2))
            client.send(["op": "auth", "id": "a1", "token": try await token("renew", lifetime: 3600)])
            let authed = try await client.reply(to: "a1")
            #expect(authed["op"] as? String == "authed")
            let exp = try #require(authed["exp"] as? Int)
            #expect(abs(Double(exp) - Date().timeIntervalSince1970 - 3600) < 60, "exp is in seconds since the epoch")
            try await Task.sleep(for: .seconds(4))
            client.send(["op": "ping", "id": "p"])
            #expect(try await client.reply(to: "p")["op"] as? String == "pong")
            #expect(!client.isClosed)
            await client.close()
        }
    }

    @Test("auth with another user's or an invalid token is refused, and the old expiry stands")
    func refreshForAnotherUser() async throws {
        try await withNodes(1) { _, nodes in
            let client = try await WSTestClient.connect(port: nodes[0].port, user: "mallory", token: try await token("mallory", lifetime: 3))
            client.send(["op": "auth", "id": "a1", "token": try await token("alice", lifetime: 3600)])
            let refused = try await client.reply(to: "a1")
            #expect(refused["op"] as? String == "error")
            #expect(refused["code"] as? String == "unauthorized")
            client.send(["op": "auth", "id": "a2", "token": "not.a.jwt"])
            #expect(try await client.reply(to: "a2")["code"] as? String == "unauthorized")
            client.send(["op": "auth", "id": "a3", "token": try await token("mallory", lifetime: -10)])
            #expect(try await client.reply(to: "a3")["code"] as? String == "unauthorized")
            #expect(await client.closeCode(timeout: .seconds(15)) == WebSocketErrorCode(codeNumber: 4001))
        }
    }

    @Test("With --jwt-audience and --jwt-issuer, tokens without or with another aud / iss are refused")
    func audienceAndIssuer() async throws {
        try await withNodes(
            1,
            configure: {
                $0.jwtAudience = "chat"
                $0.jwtIssuer = "https://id.example"
            }
        ) { _, nodes in
            let port = nodes[0].port
            let signer = try await TokenAuthority(mode: .sharedSecret(testSecret))
            let cases: [(String, String?, String?, Int)] = [
                ("none", nil, nil, 401),
                ("other aud", "mail", "https://id.example", 401),
                ("no iss", "chat", nil, 401),
                ("other iss", "chat", "https://evil.example", 401),
                ("both right", "chat", "https://id.example", 101),
            ]
            for (label, audience, issuer, status) in cases {
                let jwt = try await signer.issue(user: "u", audience: audience, issuer: issuer)
                let response = try await rawUpgrade(port: port, path: "/v1/ws?token=\(jwt)")
                #expect(response.status == status, "\(label): \(response.statusLine) \(response.body)")
                if status == 401 { #expect(json(response.body)["code"] as? String == "unauthorized", "\(label)") }
            }
            let history = try await http(
                .get, port: port, "/v1/rooms/r/messages", headers: [.authorization: "Bearer \(try await signer.issue(user: "u", audience: "mail"))"])
            #expect(history.status == 401, "the HTTP API checks aud too")
        }
    }

    @Test("With a JWT secret there is no development token route")
    func noDevelopmentTokens() async throws {
        try await withNodes(1) { _, nodes in
            let response = try await http(.post, port: nodes[0].port, "/v1/dev/token", body: #"{"user":"x","admin":true}"#)
            #expect(response.status == 404)
        }
    }

    @Test("Development tokens on real brokers only with insecureDevelopmentTokens")
    func developmentTokensOnBrokers() async throws {
        let cluster = try TestCluster()
        do {
            await #expect(throws: ChatNodeStartupError.self) {
                _ = try await RunningNode.start(cluster: cluster) { $0.authentication = .development }
            }
            let node = try await RunningNode.start(cluster: cluster) {
                $0.authentication = .development
                $0.insecureDevelopmentTokens = true
            }
            let response = try await http(.post, port: node.port, "/v1/dev/token", body: #"{"user":"x"}"#)
            #expect(response.status == 200)
            #expect(json(response.body)["token"] is String)
            await node.stop()
        }
        await cluster.shutdown()
    }

    @Test("Weak HS256 secrets are refused with advice")
    func weakSecrets() {
        let weak = [
            "short", "change-me-to-a-long-random-secret", String(repeating: "a", count: 64), String(repeating: "abcd", count: 16),
            String(repeating: "0123456789abcdef", count: 4), "abcdefghijklmnopqrstuvwxyz0123456789", "CHANGEME-please-0123456789abcdefghij",
        ]
        for secret in weak {
            let weakness = TokenAuthority.weakness(ofSecret: secret)
            #expect(weakness?.contains("openssl rand -hex 32") == true, "\(secret)")
        }
        let strong = [
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", testSecret, "another-secret-that-is-32-bytes-long",
        ]
        for secret in strong { #expect(TokenAuthority.weakness(ofSecret: secret) == nil, "\(secret)") }
    }

    @Test("chatd with --brokers and no JWT key, or with a weak secret, refuses to start (exit 2) and says what to set")
    func chatdRefusesToStart() async throws {
        let noKey = try ChildProcess("chatd", ["--brokers", "127.0.0.1:1", "--port", "0", "--host", "127.0.0.1"])
        #expect(await noKey.exitStatus() == 2)
        _ = try await noKey.waitForLine(containing: "--jwt-secret")
        #expect(noKey.outputText.contains("--insecure-dev-tokens"))

        let placeholder = try ChildProcess(
            "chatd", ["--brokers", "127.0.0.1:1", "--port", "0", "--host", "127.0.0.1", "--jwt-secret", "change-me-to-a-long-random-secret"])
        #expect(await placeholder.exitStatus() == 2)
        _ = try await placeholder.waitForLine(containing: "openssl rand -hex 32")
    }
}
