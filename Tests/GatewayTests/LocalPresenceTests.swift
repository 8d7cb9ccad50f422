import ChatPresence
import Testing

@Suite("Local presence per session")
struct LocalPresenceTests {
    final class Session {}

    @Test("Closing the only session in a room withdraws the user from it while another session stays open")
    func closeWithdrawsOnlyItsRooms() {
        var local = LocalPresence(node: "n1", incarnation: 1)
        let inR = Session()
        let inS = Session()
        var table = PresenceTable(staleAfter: 1000)
        _ = table.apply(.node(NodeHeartbeat(node: "n1", incarnation: 1, timestamp: 0, up: true)), now: 0)
        func apply(_ records: [PresenceRecord]) { for record in records { _ = table.apply(record, now: 0) } }
        apply(local.sessionOpened(ObjectIdentifier(inR), user: "u", timestamp: 0))
        apply(local.sessionOpened(ObjectIdentifier(inS), user: "u", timestamp: 0))
        apply(local.joined(ObjectIdentifier(inR), room: "r", timestamp: 0))
        apply(local.joined(ObjectIdentifier(inS), room: "s", timestamp: 0))
        #expect(table.online(in: "r") == ["u"])
        apply(local.sessionClosed(ObjectIdentifier(inR), timestamp: 1))
        #expect(table.online(in: "r").isEmpty, "no session of u is in r any more")
        #expect(table.online(in: "s") == ["u"])
        #expect(table.isOnline("u"))
        apply(local.sessionClosed(ObjectIdentifier(inS), timestamp: 2))
        #expect(!table.isOnline("u"))
        #expect(table.online(in: "s").isEmpty)
    }

    @Test("Two sessions in one room: the user stays while either is there; joining twice counts once")
    func sharedRoom() {
        var local = LocalPresence(node: "n1", incarnation: 1)
        let sessions = (Session(), Session())  // alive, so their identifiers differ
        let a = ObjectIdentifier(sessions.0)
        let b = ObjectIdentifier(sessions.1)
        _ = local.sessionOpened(a, user: "u", timestamp: 0)
        _ = local.sessionOpened(b, user: "u", timestamp: 0)
        #expect(local.joined(a, room: "r", timestamp: 0).count == 1)
        #expect(local.joined(a, room: "r", timestamp: 0).isEmpty, "a second join of the same session")
        #expect(local.joined(b, room: "r", timestamp: 0).isEmpty)
        #expect(local.sessions(of: "u", in: "r") == 2)
        #expect(local.left(a, room: "r", timestamp: 0).isEmpty, "b is still in r")
        #expect(local.left(a, room: "r", timestamp: 0).isEmpty, "leaving twice changes nothing")
        #expect(local.sessions(of: "u", in: "r") == 1)
        let closing = local.sessionClosed(b, timestamp: 0)
        #expect(closing.count == 1, "r goes offline; a still holds the user online")
        if case .room(let presence) = closing.first {
            #expect(!presence.online && presence.room == "r")
        } else {
            Issue.record("expected a room record")
        }
        withExtendedLifetime(sessions) {}
    }

    @Test("N joins write O(N) presence bytes: one record per room, not the room list")
    func linearBytes() {
        func bytesWritten(joins: Int) -> Int {
            var local = LocalPresence(node: "node-1", incarnation: 1)
            let owner = Session()
            let session = ObjectIdentifier(owner)
            var bytes = local.sessionOpened(session, user: "user", timestamp: 0).reduce(0) { $0 + $1.encoded().count }
            for index in 0..<joins {
                let records = local.joined(session, room: "room-\(100_000 + index)", timestamp: 0)
                #expect(records.count == 1)
                bytes += records.reduce(0) { $0 + $1.encoded().count }
            }
            withExtendedLifetime(owner) {}
            return bytes
        }
        let hundred = bytesWritten(joins: 100)
        let thousand = bytesWritten(joins: 1000)
        // Linear: ten times the joins, ten times the bytes (plus the one user record); the old
        // format (the whole room list per join) wrote about a hundred times as much.
        #expect(thousand < hundred * 11)
        #expect(thousand > hundred * 9)
    }
}
