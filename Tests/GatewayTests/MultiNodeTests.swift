import ChatDomain
import Foundation
import Testing

@Suite("Several nodes, ordering and resume", .timeLimit(.minutes(3)))
struct MultiNodeTests {
    @Test("Three nodes, 60 clients, 10 rooms, concurrent senders: every client gets every message of its rooms once, in one order")
    func threeNodesSixtyClients() async throws {
        try await withNodes(3, configure: { $0.gateway.requestRate = 1000 }) { _, nodes in
            var clients: [WSTestClient] = []
            var rooms: [[String]] = []
            for index in 0..<60 {
                let client = try await WSTestClient.connect(port: nodes[index % 3].port, user: "user\(index)")
                let mine = ["room\(index % 10)", "room\((index + 3) % 10)"]
                for room in mine { _ = try await client.join(room) }
                clients.append(client)
                rooms.append(mine)
            }
            // 20 senders, 10 messages each, all at once.
            for sender in 0..<20 {
                for number in 0..<10 {
                    clients[sender].send([
                        "op": "send", "id": "s\(number)", "room": rooms[sender][0], "cmid": "u\(sender)-\(number)", "body": "u\(sender)-\(number)",
                    ])
                }
            }
            for sender in 0..<20 { _ = try await clients[sender].reply(to: "s9") }
            var expected: [String: Int] = [:]
            for sender in 0..<20 { expected[rooms[sender][0], default: 0] += 10 }

            var orderByRoom: [String: [String]] = [:]
            for (index, client) in clients.enumerated() {
                for room in rooms[index] {
                    let count = expected[room] ?? 0
                    let messages = count == 0 ? [] : try await client.waitForCount(count, op: "message", room: room)
                    let bodies = messages.compactMap { $0["body"] as? String }
                    #expect(bodies.count == count, "\(client.user) in \(room): exactly once")
                    #expect(Set(bodies).count == bodies.count, "\(client.user) in \(room): no duplicate")
                    if let reference = orderByRoom[room] {
                        #expect(bodies == reference, "\(client.user) sees \(room) in the same order as everyone else")
                    } else {
                        orderByRoom[room] = bodies
                    }
                }
            }
            try await Task.sleep(for: .milliseconds(300))
            for (index, client) in clients.enumerated() {
                for room in rooms[index] {
                    #expect(client.received(op: "message", room: room).count == expected[room] ?? 0, "no late duplicate")
                }
            }
            for client in clients { await client.close() }
        }
    }

    @Test("Join with since while others keep sending: exactly once across the catch-up to live switch", arguments: [1000, 4])
    func resumeWhileSending(cachedEventsPerRoom: Int) async throws {
        try await withNodes(
            2,
            configure: {
                $0.gateway.requestRate = 1000
                $0.cachedEventsPerRoom = cachedEventsPerRoom
            }
        ) { _, nodes in
            let sender = try await WSTestClient.connect(port: nodes[0].port, user: "sender")
            _ = try await sender.join("busy")
            let total = 300
            let sending = Task {
                for index in 0..<total {
                    sender.send(["op": "send", "id": "s\(index)", "room": "busy", "cmid": "c\(index)", "body": "\(index)"])
                    try await Task.sleep(for: .milliseconds(3))
                }
            }
            // A reader joins on the other node, takes some messages, leaves, and resumes with its cursor.
            let first = try await WSTestClient.connect(port: nodes[1].port, user: "reader")
            let joined = try await first.join("busy")
            let startCursor = try #require(joined["cursor"] as? String)
            let early = try await first.waitForCount(30, op: "message", room: "busy")
            await first.close()
            let seenFirst = first.received(op: "message", room: "busy")
            let lastCursor = try #require(seenFirst.last?["cursor"] as? String)
            try await Task.sleep(for: .milliseconds(200))
            let second = try await WSTestClient.connect(port: nodes[0].port, user: "reader")
            let resumed = try await second.join("busy", since: lastCursor)
            #expect(resumed["recovered"] as? Bool == true)
            // And a late joiner starting from the very first cursor it was given.
            let late = try await WSTestClient.connect(port: nodes[1].port, user: "late")
            _ = try await late.join("busy", since: startCursor)
            try await sending.value
            _ = try await sender.reply(to: "s\(total - 1)")
            let all = try await sender.waitForCount(total, op: "message", room: "busy")
            let startOffset = try #require(ChatCursor(startCursor)?.offset)
            let expected = all.filter { (($0["cursor"] as? String).flatMap(ChatCursor.init)?.offset ?? -1) > startOffset }
                .compactMap { $0["body"] as? String }
            let rest = try await second.waitForCount(expected.count - seenFirst.count, op: "message", room: "busy")
            let combined = (seenFirst + rest).compactMap { $0["body"] as? String }
            #expect(early.count >= 30)
            #expect(combined == expected, "no gap, no duplicate at the switch")
            let lateBodies = try await late.waitForCount(expected.count, op: "message", room: "busy").compactMap { $0["body"] as? String }
            #expect(lateBodies == expected, "a joiner from a cursor gets every later event exactly once")
            try await Task.sleep(for: .milliseconds(200))
            #expect(second.received(op: "message", room: "busy").count == rest.count, "nothing repeated later")
            await sender.close()
            await second.close()
            await late.close()
        }
    }
}
