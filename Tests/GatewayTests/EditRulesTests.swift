import ChatDomain
import Foundation
import Kafka
import Testing

/// The value of a counter or gauge without labels in a node's `/metrics`.
func metric(_ name: String, port: Int) async throws -> Int? {
    let body = try await http(.get, port: port, "/metrics").body
    let line = body.split(separator: "\n").first { $0.hasPrefix(name + " ") }
    return line.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }.map { Int($0) }
}

@Suite("Edit and delete rules, in the order sent", .timeLimit(.minutes(2)))
struct EditRulesTests {
    @Test("Editing or deleting a deleted or unknown message is not_found, and nothing is broadcast")
    func deletedAndUnknown() async throws {
        try await withNodes(1) { _, nodes in
            let alice = try await WSTestClient.connect(port: nodes[0].port, user: "alice")
            let bob = try await WSTestClient.connect(port: nodes[0].port, user: "bob")
            _ = try await alice.join("rules")
            _ = try await bob.join("rules")
            alice.send(["op": "send", "id": "s", "room": "rules", "cmid": "c1", "body": "soon gone"])
            let msgId = try #require(try await alice.reply(to: "s")["msgId"] as? String)
            alice.send(["op": "delete", "id": "d1", "room": "rules", "msgId": msgId])
            #expect(try await alice.reply(to: "d1")["op"] as? String == "ack")

            alice.send(["op": "edit", "id": "e1", "room": "rules", "msgId": msgId, "body": "back from the dead"])
            alice.send(["op": "delete", "id": "d2", "room": "rules", "msgId": msgId])
            alice.send(["op": "edit", "id": "e2", "room": "rules", "msgId": "987654321", "body": "nothing there"])
            alice.send(["op": "edit", "id": "e3", "room": "rules", "msgId": "not-an-offset", "body": "nothing there"])
            alice.send(["op": "delete", "id": "d3", "room": "rules", "msgId": "-1"])
            for id in ["e1", "d2", "e2", "e3", "d3"] {
                let reply = try await alice.reply(to: id)
                #expect(reply["op"] as? String == "error", "\(id)")
                #expect(reply["code"] as? String == "not_found", "\(id): \(reply)")
            }
            // A marker after the refused changes: once bob has it, he would have had an `edited` too.
            alice.send(["op": "send", "id": "m", "room": "rules", "cmid": "marker", "body": "marker"])
            _ = try await alice.reply(to: "m")
            try await bob.waitFor("marker") { $0["body"] as? String == "marker" }
            #expect(bob.count(op: "edited", room: "rules") == 0, "an edit of a deleted message is not broadcast")
            #expect(bob.count(op: "deleted", room: "rules") == 1, "the second delete is not broadcast")
            await alice.close()
            await bob.close()
        }
    }

    @Test("Lookups of messages the cache no longer holds read the log through one shared consumer and see deletes")
    func lookupsOutsideTheCache() async throws {
        try await withNodes(1, configure: { $0.cachedEventsPerRoom = 1 }) { _, nodes in
            let port = nodes[0].port
            let alice = try await WSTestClient.connect(port: port, user: "alice")
            _ = try await alice.join("old")
            var ids: [String] = []
            for index in 0..<6 {
                alice.send(["op": "send", "id": "s\(index)", "room": "old", "cmid": "c\(index)", "body": "m\(index)"])
                ids.append(try #require(try await alice.reply(to: "s\(index)")["msgId"] as? String))
            }
            // Each lookup concerns a message that fell out of the one-event cache.
            for index in 0..<4 {
                alice.send(["op": "edit", "id": "e\(index)", "room": "old", "msgId": ids[index], "body": "m\(index) edited"])
                #expect(try await alice.reply(to: "e\(index)")["op"] as? String == "ack")
                alice.send(["op": "send", "id": "pad\(index)", "room": "old", "cmid": "pad\(index)", "body": "pad"])
                _ = try await alice.reply(to: "pad\(index)")
            }
            alice.send(["op": "delete", "id": "d", "room": "old", "msgId": ids[0]])
            #expect(try await alice.reply(to: "d")["op"] as? String == "ack")
            alice.send(["op": "send", "id": "pad", "room": "old", "cmid": "pad", "body": "pad"])
            _ = try await alice.reply(to: "pad")
            alice.send(["op": "edit", "id": "late", "room": "old", "msgId": ids[0], "body": "too late"])
            #expect(try await alice.reply(to: "late")["code"] as? String == "not_found", "the log read saw the delete")
            let bob = try await WSTestClient.connect(port: port, user: "bob")
            _ = try await bob.join("old")
            bob.send(["op": "edit", "id": "b", "room": "old", "msgId": ids[1], "body": "not mine"])
            #expect(try await bob.reply(to: "b")["code"] as? String == "forbidden")

            #expect(try await metric("chat_history_reader_consumers_total", port: port) == 1, "every lookup reused one consumer")
            #expect(try await metric("chat_history_records_scanned_total", port: port) ?? 0 > 0, "the lookups read the log")
            await alice.close()
            await bob.close()
        }
    }

    @Test("Quick edits of one message from one session apply in the order sent")
    func editsInOrder() async throws {
        // A one-event cache sends every lookup to the log, whose reads take longer than a cache hit.
        try await withNodes(1, configure: { $0.cachedEventsPerRoom = 1 }) { _, nodes in
            let alice = try await WSTestClient.connect(port: nodes[0].port, user: "alice")
            let bob = try await WSTestClient.connect(port: nodes[0].port, user: "bob")
            _ = try await alice.join("drafts")
            _ = try await bob.join("drafts")
            alice.send(["op": "send", "id": "s", "room": "drafts", "cmid": "c", "body": "v"])
            let msgId = try #require(try await alice.reply(to: "s")["msgId"] as? String)
            let count = 40
            for index in 0..<count {
                alice.send(["op": "edit", "id": "e\(index)", "room": "drafts", "msgId": msgId, "body": "v\(index)"])
            }
            var cursors: [Int] = []
            for index in 0..<count {
                let ack = try await alice.reply(to: "e\(index)")
                #expect(ack["op"] as? String == "ack")
                cursors.append((ack["cursor"] as? String)?.split(separator: ".").last.flatMap { Int($0) } ?? -1)
            }
            #expect(cursors == cursors.sorted(), "the edits are in the log in the order sent")
            let edited = try await bob.waitForCount(count, op: "edited", room: "drafts")
            #expect(edited.map { $0["body"] as? String } == (0..<count).map { "v\($0)" })
            alice.send(["op": "history", "id": "h", "room": "drafts", "limit": 5])
            let messages = try await alice.reply(to: "h")["messages"] as? [[String: Any]]
            #expect(messages?.map { $0["body"] as? String } == ["v\(count - 1)"])
            await alice.close()
            await bob.close()
        }
    }
}

@Suite("History does bounded work", .timeLimit(.minutes(2)))
struct HistoryBoundsTests {
    /// Writes `count` posts of `room` straight to its partition; returns a room of the same partition
    /// that has none.
    static func fillPartition(_ cluster: TestCluster, room: RoomName, count: Int) async throws -> RoomName {
        let partitioner = RoomPartitioner(partitionCount: 8)
        let partition = partitioner.partition(for: room)
        let kafka = KafkaConfiguration(bootstrapServers: cluster.bootstrap)
        let producer = try KafkaProducer(configuration: kafka, logger: testLogger("test.producer"))
        let records = (0..<count).map { index in
            KafkaProducerRecord(
                topic: ChatTopics.rooms, partition: partition, key: Array(room.value.utf8),
                value: RoomEvent(room: room, from: "ann", timestamp: WallClock.milliseconds(), kind: .message(cmid: "c\(index)", body: "b\(index)"))
                    .encoded())
        }
        _ = try await producer.send(records).get()
        await producer.close()
        let ghost = (0..<1000).lazy.compactMap { RoomName("ghost-\($0)") }.first { partitioner.partition(for: $0) == partition }
        return try #require(ghost)
    }

    @Test("An unknown room in a busy partition: an empty page from the fan-out's index, without reading the log")
    func unknownRoomFromTheFanout() async throws {
        try await withNodes(1) { cluster, nodes in
            let ghost = try await Self.fillPartition(cluster, room: RoomName("busy")!, count: 3000)
            let port = nodes[0].port
            let busy = try await WSTestClient.connect(port: port, user: "watcher")
            _ = try await busy.join("busy")  // the fan-out has read the partition from its start
            let reader = try await token("reader")
            let response = try await http(.get, port: port, "/v1/rooms/\(ghost.value)/messages?limit=50&token=\(reader)")
            #expect(response.status == 200)
            #expect((json(response.body)["messages"] as? [Any])?.isEmpty == true)
            #expect(json(response.body)["more"] as? Bool == false)
            #expect(try await metric("chat_history_records_scanned_total", port: port) == 0)
            await busy.close()
        }
    }

    @Test("A room with no recent messages reads at most the scan limit and says there may be more")
    func boundedScan() async throws {
        try await withNodes(0) { cluster, _ in
            let ghost = try await Self.fillPartition(cluster, room: RoomName("busy")!, count: 3000)
            // Started after the fill, its fan-out reads only the partition's last 50 records.
            let node = try await RunningNode.start(cluster: cluster) {
                $0.historyScanLimit = 200
                $0.duplicateSpan = 50
            }
            let port = node.port
            let reader = try await token("reader")
            let response = try await http(.get, port: port, "/v1/rooms/\(ghost.value)/messages?limit=50&token=\(reader)")
            #expect(response.status == 200, "\(response.body)")
            #expect((json(response.body)["messages"] as? [Any])?.isEmpty == true)
            #expect(json(response.body)["more"] as? Bool == true, "older records exist beyond the scan")
            let scanned = try #require(try await metric("chat_history_records_scanned_total", port: port))
            #expect(scanned > 0 && scanned <= 2 * (200 + 50), "read \(scanned) of 3000 records")

            // The newest messages of a busy room are still served, and a page past the bound is refused clearly.
            let client = try await WSTestClient.connect(port: port, user: "ann")
            client.send(["op": "history", "id": "h", "room": "busy", "limit": 10])
            let page = try await client.reply(to: "h")
            let messages = try #require(page["messages"] as? [[String: Any]])
            #expect(messages.map { $0["body"] as? String } == (2990..<3000).map { "b\($0)" })
            let oldest = try #require(messages.first?["cursor"] as? String)
            let parts = oldest.split(separator: ".")
            let deep = parts.dropLast().joined(separator: ".") + ".5"
            client.send(["op": "history", "id": "deep", "room": "busy", "limit": 10, "before": deep])
            let refused = try await client.reply(to: "deep")
            #expect(refused["code"] as? String == "bad_request", "\(refused)")
            await client.close()
            await node.stop()
        }
    }
}
