import ChatPresence
import Testing

@Suite("Presence table")
struct PresenceTableTests {
    func user(_ name: String, node: String = "n1", incarnation: Int64 = 1, online: Bool = true) -> PresenceRecord {
        .user(UserPresence(user: name, node: node, incarnation: incarnation, online: online, timestamp: 0))
    }

    func room(_ room: String, _ user: String, node: String = "n1", incarnation: Int64 = 1, online: Bool = true) -> PresenceRecord {
        .room(RoomPresence(user: user, node: node, room: room, incarnation: incarnation, online: online, timestamp: 0))
    }

    func heartbeat(_ node: String = "n1", incarnation: Int64 = 1, up: Bool = true) -> PresenceRecord {
        .node(NodeHeartbeat(node: node, incarnation: incarnation, timestamp: 0, up: up))
    }

    @Test("Online while any fresh node reports it; offline when the last one stops")
    func severalNodes() {
        var table = PresenceTable(staleAfter: 1000)
        _ = table.apply(user("u"), now: 0)
        #expect(table.apply(room("r", "u"), now: 0).isEmpty, "no heartbeat of n1 yet")
        #expect(table.apply(heartbeat(), now: 0) == [.init(room: "r", user: "u", online: true)])
        _ = table.apply(heartbeat("n2"), now: 0)
        _ = table.apply(user("u", node: "n2"), now: 0)
        #expect(table.apply(room("r", "u", node: "n2"), now: 0).isEmpty, "already online")
        #expect(table.apply(room("r", "u", online: false), now: 10).isEmpty, "still online on n2")
        #expect(table.apply(user("u", online: false), now: 10).isEmpty)
        #expect(table.apply(room("r", "u", node: "n2", online: false), now: 20) == [.init(room: "r", user: "u", online: false)])
        #expect(table.isOnline("u"), "the n2 session is still open, in no room")
    }

    @Test("A node without heartbeat for staleAfter takes its users offline; its restart leaves no ghost")
    func staleAndRestart() {
        var table = PresenceTable(staleAfter: 1000)
        _ = table.apply(heartbeat(), now: 0)
        _ = table.apply(user("u"), now: 0)
        _ = table.apply(room("r", "u"), now: 0)
        #expect(table.expire(now: 900).isEmpty)
        #expect(table.expire(now: 1001) == [.init(room: "r", user: "u", online: false)])
        #expect(table.online(in: "r").isEmpty)
        // The node comes back with a new incarnation: the old run's records do not count.
        #expect(table.apply(heartbeat(incarnation: 2), now: 1100).isEmpty)
        #expect(table.leftovers(of: "n1", currentIncarnation: 2).map(\.user) == ["u"])
        #expect(table.leftovers(of: "n1", currentIncarnation: 2).first?.rooms == ["r"], "the rooms to withdraw")
        #expect(table.apply(room("s", "u", incarnation: 2), now: 1150).isEmpty, "a room record of a run not announced yet")
        _ = table.apply(user("u", incarnation: 2), now: 1200)
        #expect(table.apply(room("r", "u", incarnation: 2), now: 1200).count == 1)
        #expect(table.apply(room("s", "u", incarnation: 2), now: 1200).count == 1)
        #expect(table.online(in: "s") == ["u"])
        #expect(table.apply(room("r", "u", incarnation: 1, online: false), now: 1300).isEmpty, "the old run's withdrawal does not touch the new one")
        #expect(table.online(in: "r") == ["u"])
    }

    @Test("A clean shutdown withdraws the node's users at once")
    func shutdown() {
        var table = PresenceTable(staleAfter: 1000)
        _ = table.apply(heartbeat(), now: 0)
        for record in [user("a"), room("r", "a"), user("b"), room("r", "b"), room("x", "b")] { _ = table.apply(record, now: 0) }
        let changes = table.apply(heartbeat(up: false), now: 5)
        #expect(
            Set(changes) == [
                .init(room: "r", user: "a", online: false), .init(room: "r", user: "b", online: false), .init(room: "x", user: "b", online: false),
            ])
    }

    @Test("Records survive encoding, and each user's records share one partition key")
    func encoding() {
        for record in [heartbeat(), user("u"), room("r", "u", online: false)] {
            #expect(PresenceRecord(decoding: record.encoded()) == record)
        }
        #expect(room("r", "u").partitionKey == user("u").key)
        #expect(room("r", "u").key != room("s", "u").key)
    }
}
