import ChatDomain
import Foundation
import NIOWebSocket
import Testing

@Suite("Faults: brokers, slow clients, shutdown", .timeLimit(.minutes(3)))
struct FaultTests {
    @Test("A broker down and leaders moved: every acked message is delivered; others are acked later or unavailable")
    func brokerOutage() async throws {
        try await withNodes(
            1,
            configure: {
                $0.gateway.requestRate = 1000
                $0.gateway.sendTimeout = .seconds(8)
            }
        ) { cluster, nodes in
            let sender = try await WSTestClient.connect(port: nodes[0].port, user: "sender")
            let receiver = try await WSTestClient.connect(port: nodes[0].port, user: "receiver")
            for room in ["a", "b", "c"] {
                _ = try await sender.join(room)
                _ = try await receiver.join(room)
            }
            let total = 150
            for index in 0..<total {
                if index == 30 { try cluster.cluster.setBrokerDown(1) }
                if index == 60 {
                    for partition in Int32(0)..<8 {
                        try? cluster.cluster.setPartitionLeader(topic: ChatTopics.rooms, partition: partition, broker: 2)
                    }
                }
                if index == 90 { try cluster.cluster.setBrokerUp(1) }
                if index == 100 {
                    for partition in Int32(0)..<8 {
                        try? cluster.cluster.setPartitionLeader(topic: ChatTopics.rooms, partition: partition, broker: 3)
                    }
                }
                let room = ["a", "b", "c"][index % 3]
                sender.send(["op": "send", "id": "s\(index)", "room": room, "cmid": "c\(index)", "body": "\(index)"])
                try await Task.sleep(for: .milliseconds(10))
            }
            var acked: [String: Set<String>] = [:]
            var unavailable = 0
            for index in 0..<total {
                let reply = try await sender.reply(to: "s\(index)", timeout: .seconds(30))
                if reply["op"] as? String == "ack" {
                    acked[reply["room"] as! String, default: []].insert("\(index)")
                } else {
                    #expect(reply["code"] as? String == "unavailable", "a failed send says unavailable")
                    unavailable += 1
                }
            }
            #expect(acked.values.map(\.count).reduce(0, +) + unavailable == total, "every send got an answer")
            for (room, bodies) in acked {
                let deadline = ContinuousClock.now.advanced(by: .seconds(30))
                while ContinuousClock.now < deadline {
                    let got = Set(receiver.received(op: "message", room: room).compactMap { $0["body"] as? String })
                    if bodies.isSubset(of: got) { break }
                    try await Task.sleep(for: .milliseconds(50))
                }
                let messages = receiver.received(op: "message", room: room)
                let got = messages.compactMap { $0["body"] as? String }
                #expect(bodies.isSubset(of: Set(got)), "every acked message in \(room) was delivered")
                #expect(Set(got).count == got.count, "no duplicate in \(room)")
                let offsets = messages.compactMap { ($0["cursor"] as? String).flatMap(ChatCursor.init)?.offset }
                #expect(offsets == offsets.sorted(), "offset order in \(room)")
            }
            await sender.close()
            await receiver.close()
        }
    }

    @Test("A client that stops reading is closed with 4008; the room's other clients keep receiving")
    func slowClient() async throws {
        try await withNodes(
            1,
            configure: {
                $0.gateway.requestRate = 100_000
                $0.gateway.requestBurst = 100_000
                $0.gateway.outboundQueueBytes = 1024 * 1024
            }
        ) { _, nodes in
            let sender = try await WSTestClient.connect(port: nodes[0].port, user: "sender")
            let fast = try await WSTestClient.connect(port: nodes[0].port, user: "fast")
            let slow = try await WSTestClient.connect(port: nodes[0].port, user: "slow")
            for client in [sender, fast, slow] { _ = try await client.join("firehose") }
            slow.pauseReading()
            let body = String(repeating: "x", count: 4000)
            let total = 4000
            let started = ContinuousClock.now
            for index in 0..<total {
                sender.send(["op": "send", "id": "s\(index)", "room": "firehose", "cmid": "c\(index)", "body": "\(index) \(body)"])
                if index % 200 == 199 { _ = try await sender.reply(to: "s\(index)", timeout: .seconds(60)) }
            }
            // The server gives up on the slow client while the others are still being served.
            var closedAsSlow = false
            let deadline = ContinuousClock.now.advanced(by: .seconds(60))
            while !closedAsSlow, ContinuousClock.now < deadline {
                closedAsSlow = try await http(.get, port: nodes[0].port, "/metrics").body.contains("chat_sessions_closed_slow_total 1")
                if !closedAsSlow { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(closedAsSlow)
            slow.resumeReading()
            #expect(await slow.closeCode(timeout: .seconds(30)) == WebSocketErrorCode(codeNumber: 4008))
            _ = try await fast.waitForCount(total, op: "message", room: "firehose", timeout: .seconds(60))
            let elapsed = ContinuousClock.now - started
            #expect(elapsed < .seconds(60), "the fast client was not held back by the slow one")
            #expect(fast.count(op: "message", room: "firehose") == total)
            await sender.close()
            await fast.close()
        }
    }

    @Test("Graceful shutdown: sessions get 1001 and in-flight sends are acknowledged")
    func drainOnShutdown() async throws {
        let cluster = try TestCluster()
        let node = try await RunningNode.start(cluster: cluster, configure: { $0.gateway.requestRate = 1000 })
        let client = try await WSTestClient.connect(port: node.port, user: "leaver")
        _ = try await client.join("closing")
        for index in 0..<50 {
            client.send(["op": "send", "id": "s\(index)", "room": "closing", "cmid": "c\(index)", "body": "\(index)"])
        }
        try await Task.sleep(for: .milliseconds(20))
        await node.stop()
        #expect(await client.closeCode() == .goingAway)
        let acks = client.received(op: "ack")
        let errors = client.received(op: "error")
        // Requests read before the drain are answered; the rest were never read (the client resends them).
        #expect(acks.count + errors.count > 0)
        let restarted = try await RunningNode.start(cluster: cluster)
        let checker = try await WSTestClient.connect(port: restarted.port, user: "checker")
        _ = try await checker.join("closing")
        checker.send(["op": "history", "id": "h", "room": "closing", "limit": 200])
        let history = try await checker.reply(to: "h")["messages"] as? [[String: Any]] ?? []
        let stored = Set(history.compactMap { $0["cmid"] as? String })
        for ack in acks {
            #expect(stored.contains(ack["cmid"] as? String ?? ""), "acknowledged message \(ack["cmid"] ?? "") survived the shutdown")
        }
        await checker.close()
        await restarted.stop()
        await cluster.shutdown()
    }
}
