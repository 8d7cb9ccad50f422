import ChatDomain
import ChatGateway
import Foundation
import HTTPTypes
import NIOWebSocket
import Testing

/// Every resource a client can make a node hold has a bound, with a clear error when reached.
@Suite("Limits on what a client can make a node hold", .timeLimit(.minutes(3)))
struct LimitTests {
    @Test("Rooms per session: a join beyond the limit gets 'limit'; leaving makes room")
    func roomsPerSession() async throws {
        try await withNodes(1, configure: { $0.gateway.maxRoomsPerSession = 3 }) { _, nodes in
            let client = try await WSTestClient.connect(port: nodes[0].port, user: "roamer")
            for room in ["a", "b", "c"] { _ = try await client.join(room) }
            let refused = try await client.join("d")
            #expect(refused["op"] as? String == "error")
            #expect(refused["code"] as? String == "limit")
            #expect((refused["message"] as? String)?.contains("rooms per session") == true)
            #expect(try await client.join("a")["op"] as? String == "joined", "joining a joined room again is no new room")
            client.send(["op": "leave", "id": "l", "room": "b"])
            _ = try await client.reply(to: "l")
            #expect(try await client.join("d")["op"] as? String == "joined")
            await client.close()
        }
    }

    @Test("Sessions per user: one more upgrade is refused with 429 'limit'; closing one lets the next in")
    func sessionsPerUser() async throws {
        try await withNodes(1, configure: { $0.gateway.maxSessionsPerUser = 2 }) { _, nodes in
            let port = nodes[0].port
            let first = try await WSTestClient.connect(port: port, user: "tabs")
            let second = try await WSTestClient.connect(port: port, user: "tabs")
            await #expect(throws: WSTestClientError.self) { _ = try await WSTestClient.connect(port: port, user: "tabs") }
            let refusal = try await http(.get, port: port, "/v1/ws?token=\(try await token("tabs"))")
            #expect(refusal.status == 429)
            #expect(json(refusal.body)["code"] as? String == "limit")
            #expect((json(refusal.body)["message"] as? String)?.contains("sessions per user") == true)
            let other = try await WSTestClient.connect(port: port, user: "someone-else")
            await first.close()
            try await waitUntil {
                guard let again = try? await WSTestClient.connect(port: port, user: "tabs") else { return false }
                await again.close()
                return true
            }
            await second.close()
            await other.close()
        }
    }

    @Test("Connections per IP: one more upgrade from the address is refused with 429 'limit'")
    func connectionsPerAddress() async throws {
        try await withNodes(1, configure: { $0.gateway.maxConnectionsPerIP = 2 }) { _, nodes in
            let port = nodes[0].port
            let a = try await WSTestClient.connect(port: port, user: "a")
            let b = try await WSTestClient.connect(port: port, user: "b")
            await #expect(throws: WSTestClientError.self) { _ = try await WSTestClient.connect(port: port, user: "c") }
            let refusal = try await http(.get, port: port, "/v1/ws?token=\(try await token("c"))")
            #expect(refusal.status == 429)
            #expect((json(refusal.body)["message"] as? String)?.contains("connections per IP") == true)
            await a.close()
            await b.close()
        }
    }

    @Test("Binary frames count against the rate limit: rate_limited, then close 4029")
    func binaryFramesAreRateLimited() async throws {
        try await withNodes(
            1,
            configure: {
                $0.gateway.requestRate = 1
                $0.gateway.requestBurst = 2
                $0.gateway.rateLimitStrikes = 5
            }
        ) { _, nodes in
            let client = try await WSTestClient.connect(port: nodes[0].port, user: "binary")
            for _ in 0..<20 { client.send(binary: [1, 2, 3]) }
            #expect(await client.closeCode(timeout: .seconds(20)) == WebSocketErrorCode(codeNumber: 4029))
            let codes = client.received(op: "error").compactMap { $0["code"] as? String }
            #expect(codes.contains("rate_limited"))
            #expect(codes.filter { $0 == "bad_request" }.count <= 2, "only the burst was answered as a bad frame")
        }
    }

    @Test("WebSocket ping frames count against a rate of their own: past it they go unanswered, then close 4029")
    func controlFramesAreRateLimited() async throws {
        try await withNodes(
            1,
            configure: {
                $0.gateway.requestRate = 1
                $0.gateway.requestBurst = 2
                $0.gateway.rateLimitStrikes = 5
            }
        ) { _, nodes in
            let flooder = try await WSTestClient.connect(port: nodes[0].port, user: "pinger")
            for _ in 0..<20 { flooder.sendControlPing() }
            #expect(await flooder.closeCode(timeout: .seconds(20)) == WebSocketErrorCode(codeNumber: 4029))
            // Within the rate, pings are harmless and the session stays.
            let calm = try await WSTestClient.connect(port: nodes[0].port, user: "calm")
            calm.sendControlPing()
            calm.send(["op": "ping", "id": "p"])
            #expect(try await calm.reply(to: "p")["op"] as? String == "pong")
            await calm.close()
        }
    }

    @Test("The outbox is bounded in bytes: a client that does not read big history replies is closed with 4008")
    func outboxBytes() async throws {
        try await withNodes(
            1,
            configure: {
                $0.gateway.requestRate = 100_000
                $0.gateway.requestBurst = 100_000
                $0.gateway.outboundQueueBytes = 1024 * 1024
            }
        ) { _, nodes in
            let writer = try await WSTestClient.connect(port: nodes[0].port, user: "writer")
            _ = try await writer.join("big")
            let body = String(repeating: "x", count: 4000)
            for index in 0..<100 {
                writer.send(["op": "send", "id": "s\(index)", "room": "big", "cmid": "c\(index)", "body": body])
            }
            _ = try await writer.reply(to: "s99", timeout: .seconds(60))
            let reader = try await WSTestClient.connect(port: nodes[0].port, user: "reader")
            reader.pauseReading()
            // Each reply is about 400 KB: far fewer frames than a frame-count limit would allow.
            for index in 0..<200 { reader.send(["op": "history", "id": "h\(index)", "room": "big", "limit": 100]) }
            try await waitUntil(timeout: .seconds(60)) {
                (try? await http(.get, port: nodes[0].port, "/metrics").body.contains("chat_sessions_closed_slow_total 1")) ?? false
            }
            reader.resumeReading()
            #expect(await reader.closeCode(timeout: .seconds(30)) == WebSocketErrorCode(codeNumber: 4008))
            await writer.close()
        }
    }

    @Test("History reads beyond the node's line get 'limit' at once; the others are answered")
    func historyLine() async throws {
        try await withNodes(
            1,
            configure: {
                $0.gateway.requestRate = 100_000
                $0.gateway.requestBurst = 100_000
                $0.gateway.maxConcurrentReads = 1
                $0.gateway.maxQueuedReads = 1
                $0.cachedEventsPerRoom = 0  // every read goes to Kafka, so reads overlap
            }
        ) { _, nodes in
            let client = try await WSTestClient.connect(port: nodes[0].port, user: "reader")
            _ = try await client.join("archive")
            // A room with messages: an empty one is answered from the fan-out's index without a read.
            for index in 0..<5 { client.send(["op": "send", "id": "s\(index)", "room": "archive", "cmid": "c\(index)", "body": "\(index)"]) }
            _ = try await client.reply(to: "s4")
            let count = 200
            for index in 0..<count { client.send(["op": "history", "id": "h\(index)", "room": "archive"]) }
            for index in 0..<count { _ = try await client.reply(to: "h\(index)") }
            let limited = client.received(op: "error").filter { $0["code"] as? String == "limit" }
            #expect(!limited.isEmpty, "with one read running and one waiting, a burst of reads overflows the line")
            #expect((limited.first?["message"] as? String)?.contains("concurrent reads") == true)
            #expect(client.received(op: "history").count + limited.count == count, "every read got an answer")
            client.send(["op": "history", "id": "after", "room": "archive"])
            #expect(try await client.reply(to: "after")["op"] as? String == "history", "the line drains")
            await client.close()
        }
    }

    @Test("A connection that never completes its request head is closed (no slowloris)")
    func slowloris() async throws {
        try await withNodes(1, configure: { $0.gateway.requestHeadTimeout = .seconds(1) }) { _, nodes in
            let port = nodes[0].port
            let outcome = try await Task.detached { try RawConnection.partialHead(port: port, waitSeconds: 15) }.value
            #expect(outcome == .closedByServer, "the server closes a connection that sends a partial request line and stays silent")
            // A complete request still gets its answer.
            #expect(try await http(.get, port: port, "/healthz").status == 200)
        }
    }

    @Test("Concurrency limiter: at most maxRunning run, maxWaiting wait in order, the rest are refused")
    func limiter() async {
        let limiter = ConcurrencyLimiter(maxRunning: 1, maxWaiting: 1)
        #expect(await limiter.acquire())
        let waiter = Task { await limiter.acquire() }
        while limiter.load.waiting == 0 { await Task.yield() }
        #expect(await limiter.acquire() == false, "the line is full")
        limiter.release()
        #expect(await waiter.value, "the waiter got the slot")
        #expect(limiter.load == (1, 0))
        limiter.release()
        #expect(limiter.load == (0, 0))
    }
}

/// Polls `condition` until it holds; fails the test when it does not within `timeout`.
func waitUntil(timeout: Duration = .seconds(20), sourceLocation: SourceLocation = #_sourceLocation, _ condition: () async -> Bool) async throws {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while ContinuousClock.now < deadline {
        if await condition() { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    Issue.record("condition not met within \(timeout)", sourceLocation: sourceLocation)
}

/// A plain TCP client, for what a WebSocket client cannot do (a request head that never ends).
enum RawConnection {
    enum Outcome: Equatable {
        case closedByServer
        case stillOpen
    }

    /// Sends half a request line, then waits for the server to close (reads return 0).
    static func partialHead(port: Int, waitSeconds: Int) throws -> Outcome {
        guard let socket = LoopbackSocket.connect(port: port) else { throw POSIXError(.ECONNREFUSED) }
        defer { Glibc.close(socket) }
        var timeout = timeval(tv_sec: waitSeconds, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let partial = Array("GET /v1/ws HTT".utf8)
        _ = partial.withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, 0) }
        var buffer = [UInt8](repeating: 0, count: 512)
        while true {
            let read = buffer.withUnsafeMutableBytes { Glibc.recv(socket, $0.baseAddress, $0.count, 0) }
            if read == 0 { return .closedByServer }
            if read < 0 { return errno == ECONNRESET ? .closedByServer : .stillOpen }
        }
    }
}
