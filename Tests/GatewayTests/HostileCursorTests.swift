import ChatDomain
import Foundation
import Kafka
import Testing

/// Cursors a hostile or broken client makes up, and poisoned read positions in `chat.cursors`:
/// each gets a clear error or a documented `recovered: false`, and no node goes down.
@Suite("Hostile cursors crash no node", .timeLimit(.minutes(3)))
struct HostileCursorTests {
    /// A cursor learned from a real reply, taken apart to forge others from it.
    struct Learned {
        let epoch: String
        let partition: String
        let offset: Int64

        init(_ frame: [String: Any]) throws {
            let text = try #require(frame["cursor"] as? String, "a cursor in \(frame)")
            let parts = text.split(separator: ".").map(String.init)
            try #require(parts.count == 3)
            epoch = parts[0]
            partition = parts[1]
            offset = try #require(Int64(parts[2]))
        }

        func with(offset: String) -> String { "\(epoch).\(partition).\(offset)" }
        func with(partition: String) -> String { "\(epoch).\(partition).0" }
        /// A well-formed epoch that is not this log's.
        var otherEpoch: String { epoch == String(repeating: "0", count: 16) ? String(repeating: "1", count: 16) : String(repeating: "0", count: 16) }
    }

    /// Sends `count` messages to `room` and returns their acks.
    func post(_ count: Int, to room: String, from client: WSTestClient) async throws -> [[String: Any]] {
        for index in 0..<count {
            client.send(["op": "send", "id": "\(room)-s\(index)", "room": room, "cmid": "c\(index)", "body": "m\(index)"])
        }
        var acks: [[String: Any]] = []
        for index in 0..<count { acks.append(try await client.reply(to: "\(room)-s\(index)")) }
        return acks
    }

    /// The node answers a ping, and a fresh client can join, send and receive.
    func expectAlive(_ node: RunningNode, _ client: WSTestClient, room: String) async throws {
        client.send(["op": "ping", "id": "alive"])
        #expect(try await client.reply(to: "alive")["op"] as? String == "pong")
        let other = try await WSTestClient.connect(port: node.port, user: "bystander-\(UUID().uuidString.prefix(4))")
        #expect(try await other.join(room)["op"] as? String == "joined")
        other.send(["op": "send", "id": "hello", "room": room, "cmid": "hello", "body": "still here"])
        #expect(try await other.reply(to: "hello")["op"] as? String == "ack")
        try await other.waitFor("own message") { $0["op"] as? String == "message" && $0["body"] as? String == "still here" }
        await other.close()
    }

    /// The `unread` a fresh session of `user` on `node` is told, once the node reports `expected`
    /// (read positions load in the background), or the last one seen.
    func unread(_ user: String, room: String, on node: RunningNode, becomes expected: Int?) async throws -> Int? {
        let deadline = ContinuousClock.now.advanced(by: .seconds(15))
        var seen: Int?
        repeat {
            let client = try await WSTestClient.connect(port: node.port, user: user)
            let joined = try await client.join(room)
            #expect(joined["op"] as? String == "joined", "\(joined)")
            seen = joined["unread"] as? Int
            await client.close()
            if seen == expected { return seen }
            try await Task.sleep(for: .milliseconds(100))
        } while ContinuousClock.now < deadline
        return seen
    }

    @Test("join since: offsets past the end or outside Int64, odd partitions and epochs")
    func hostileJoins() async throws {
        try await withNodes(1) { _, nodes in
            let writer = try await WSTestClient.connect(port: nodes[0].port, user: "writer")
            _ = try await writer.join("lobby")
            let acks = try await post(3, to: "lobby", from: writer)
            let mallory = try await WSTestClient.connect(port: nodes[0].port, user: "mallory")
            let joined = try await mallory.join("lobby")
            let end = try Learned(joined)
            try #require(end.offset == (try Learned(acks[2])).offset, "the joined cursor is the last event")
            let cases: [(since: String, code: String?)] = [
                (end.with(offset: String(Int64.max)), "bad_request"),
                (end.with(offset: String(Int64.max - 1)), "bad_request"),
                (end.with(offset: String(end.offset + 1)), "bad_request"),  // the end: no event there yet
                (end.with(offset: String(end.offset + 2)), "bad_request"),
                (end.with(offset: String(Int64.min)), "bad_request"),
                (end.with(offset: "-2"), "bad_request"),
                (end.with(offset: "9223372036854775808"), "bad_request"),
                (end.with(partition: "2147483648"), "bad_request"),
                (end.with(partition: "-1"), "bad_request"),
                // Another partition or epoch is a cursor of another log: joined, recovered false.
                (end.with(partition: String(Int32.max)), nil),
                ("\(end.otherEpoch).\(end.partition).\(end.offset)", nil),
                ("\(end.otherEpoch).\(end.partition).\(Int64.max)", nil),
            ]
            for (index, hostile) in cases.enumerated() {
                let reply = try await mallory.join("lobby", since: hostile.since, id: "j\(index)")
                if let code = hostile.code {
                    #expect(reply["op"] as? String == "error", "since \(hostile.since): \(reply)")
                    #expect(reply["code"] as? String == code, "since \(hostile.since)")
                } else {
                    #expect(reply["op"] as? String == "joined", "since \(hostile.since): \(reply)")
                    #expect(reply["recovered"] as? Bool == false, "since \(hostile.since)")
                    #expect(reply["cursor"] as? String == joined["cursor"] as? String)
                }
            }
            let beyond = mallory.received(op: "error").first { $0["id"] as? String == "j0" }
            #expect((beyond?["message"] as? String)?.contains("beyond the room's end") == true, "\(String(describing: beyond))")
            try await expectAlive(nodes[0], mallory, room: "lobby")

            // A real cursor still resumes: the events after it, recovered.
            let resumer = try await WSTestClient.connect(port: nodes[0].port, user: "resumer")
            let resumed = try await resumer.join("lobby", since: acks[0]["cursor"] as? String)
            #expect(resumed["recovered"] as? Bool == true)
            let replayed = try await resumer.waitForCount(2, op: "message", room: "lobby")
            #expect(replayed.prefix(2).map { $0["body"] as? String } == ["m1", "m2"])
            await resumer.close()
            await mallory.close()
            await writer.close()
        }
    }

    @Test("read beyond the room's end is bad_request and stores nothing, on this node or a restarted one")
    func hostileReads() async throws {
        try await withNodes(1) { cluster, nodes in
            let writer = try await WSTestClient.connect(port: nodes[0].port, user: "writer")
            _ = try await writer.join("inbox")
            let acks = try await post(3, to: "inbox", from: writer)
            let reader = try await WSTestClient.connect(port: nodes[0].port, user: "reader")
            let end = try Learned(try await reader.join("inbox"))
            let hostile = [Int64.max, Int64.max - 1, end.offset + 1, end.offset + 2].map { end.with(offset: String($0)) } + [end.with(offset: "-2")]
            for (index, cursor) in hostile.enumerated() {
                reader.send(["op": "read", "id": "r\(index)", "room": "inbox", "cursor": cursor])
                let reply = try await reader.reply(to: "r\(index)")
                #expect(reply["code"] as? String == "bad_request", "read \(cursor): \(reply)")
            }
            #expect(try await reader.join("inbox")["unread"] == nil, "no position was stored")
            try await expectAlive(nodes[0], reader, room: "inbox")

            // A real position is stored after them: hostile ones would have blocked it (positions
            // only move forward) or broken the count.
            reader.send(["op": "read", "room": "inbox", "cursor": acks[0]["cursor"] as! String])
            let rejoined = try await reader.join("inbox")
            #expect(rejoined["unread"] as? Int == 3, "after the first message: two more and the bystander's: \(rejoined)")
            await reader.close()

            let restarted = try await RunningNode.start(cluster: cluster, nodeID: "node-restarted")
            #expect(
                try await unread("reader", room: "inbox", on: restarted, becomes: 3) == 3, "a node loading chat.cursors sees only the real position")
            await restarted.stop()
            await writer.close()
        }
    }

    @Test("Poisoned records in chat.cursors are ignored at load; joins still report unread")
    func poisonedReadPositions() async throws {
        try await withNodes(1) { cluster, nodes in
            let writer = try await WSTestClient.connect(port: nodes[0].port, user: "writer")
            _ = try await writer.join("inbox")
            let acks = try await post(5, to: "inbox", from: writer)
            let reader = try await WSTestClient.connect(port: nodes[0].port, user: "reader")
            _ = try await reader.join("inbox")
            reader.send(["op": "read", "room": "inbox", "cursor": acks[1]["cursor"] as! String])
            #expect(try await reader.join("inbox")["unread"] as? Int == 3)
            await reader.close()

            let learned = try Learned(acks[4])
            let otherPartition = String((Int32(learned.partition)! + 1) % 8)
            let poisons: [String] = [
                #"{"user":"reader","room":"inbox","cursor":"\#(learned.with(offset: String(Int64.max)))","ts":0}"#,
                #"{"user":"reader","room":"inbox","cursor":"\#(learned.with(offset: String(learned.offset + 1)))","ts":0}"#,
                #"{"user":"reader","room":"inbox","cursor":"\#(learned.epoch).\#(otherPartition).0","ts":0}"#,
                #"{"user":"reader","room":"inbox","cursor":"\#(learned.with(offset: "-2"))","ts":0}"#,
                #"{"user":"reader","room":"inbox","cursor":"\#(learned.with(offset: String(Int64.min)))","ts":9223372036854775807}"#,
                #"{"user":"reader","room":"inbox","cursor":7,"ts":0}"#,
                "not json",
            ]
            let key = "reader/inbox"
            let partition = KeyPartitioner.partition(for: key, partitionCount: 8)
            // A real position of another user after the poison, in the same partition: once a node
            // reports it, the node has read past every poisoned record.
            let sentinel = #"{"user":"sentinel","room":"inbox","cursor":"\#(acks[0]["cursor"] as! String)","ts":0}"#
            let producer = try KafkaProducer(
                configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrap), logger: testLogger("test.producer"))
            _ = try await producer.send(
                (poisons + [sentinel]).map {
                    KafkaProducerRecord(topic: ChatTopics.cursors, partition: partition, key: Array(key.utf8), value: Array($0.utf8))
                }
            ).get()

            #expect(try await unread("sentinel", room: "inbox", on: nodes[0], becomes: 4) == 4, "the live node read the poison")
            #expect(try await unread("reader", room: "inbox", on: nodes[0], becomes: 3) == 3)
            let restarted = try await RunningNode.start(cluster: cluster, nodeID: "node-restarted")
            #expect(try await unread("sentinel", room: "inbox", on: restarted, becomes: 4) == 4, "the new node loaded past the poison")
            #expect(try await unread("reader", room: "inbox", on: restarted, becomes: 3) == 3)
            let client = try await WSTestClient.connect(port: restarted.port, user: "reader")
            try await expectAlive(restarted, client, room: "inbox")
            await client.close()
            await restarted.stop()
            await writer.close()
        }
    }

    @Test("History with hostile before cursors and limits: 400 with a JSON error, over HTTP and WebSocket")
    func hostileHistory() async throws {
        try await withNodes(1) { _, nodes in
            let writer = try await WSTestClient.connect(port: nodes[0].port, user: "writer")
            _ = try await writer.join("archive")
            let acks = try await post(3, to: "archive", from: writer)
            let last = try Learned(acks[2])
            let reader = try await token("reader")
            let befores =
                [Int64.max, Int64.max - 1, last.offset + 1, last.offset + 2, Int64.min].map { last.with(offset: String($0)) } + [
                    last.with(offset: "-2"), last.with(offset: "9223372036854775808"), last.with(partition: "2147483648"),
                    "\(last.otherEpoch).\(last.partition).0", "garbage",
                ]
            let limits = ["99999999999999999999999", String(Int.max), String(Int.min), "-1", "0", "abc", "1e3", "2.5", ""]
            let queries = befores.map { "before=\($0)" } + limits.map { "limit=\($0)" }
            for query in queries {
                let response = try await http(.get, port: nodes[0].port, "/v1/rooms/archive/messages?\(query)&token=\(reader)")
                #expect(response.status == 400, "\(query): \(response)")
                #expect(json(response.body)["op"] as? String == "error", "\(query)")
                #expect(json(response.body)["code"] as? String == "bad_request", "\(query)")
            }
            for (index, before) in befores.enumerated() {
                writer.send(["op": "history", "id": "h\(index)", "room": "archive", "before": before])
                #expect(try await writer.reply(to: "h\(index)")["code"] as? String == "bad_request", "before \(before)")
            }
            let wsLimits: [Any] = [1e300, -1, 0, 9_223_372_036_854_775_807 as Int64, 1.5, "10", true, [1]]
            for (index, limit) in wsLimits.enumerated() {
                writer.send(["op": "history", "id": "l\(index)", "room": "archive", "limit": limit])
                #expect(try await writer.reply(to: "l\(index)")["code"] as? String == "bad_request", "limit \(limit)")
            }
            // The real last cursor pages the two messages before it.
            let page = try await http(
                .get, port: nodes[0].port, "/v1/rooms/archive/messages?before=\(last.with(offset: String(last.offset)))&limit=2&token=\(reader)")
            #expect(page.status == 200)
            #expect((json(page.body)["messages"] as? [[String: Any]])?.map { $0["body"] as? String } == ["m0", "m1"])
            try await expectAlive(nodes[0], writer, room: "archive")
            await writer.close()
        }
    }
}
