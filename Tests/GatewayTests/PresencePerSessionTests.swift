import Foundation
import Testing

@Suite("Presence per session", .timeLimit(.minutes(2)))
struct PresencePerSessionTests {
    @Test("Two sessions of one user, in rooms r and s: closing the r session takes the user offline in r only, seen from another node")
    func closingOneSessionWithdrawsItsRooms() async throws {
        try await withNodes(2) { _, nodes in
            let observer = try await WSTestClient.connect(port: nodes[1].port, user: "observer")
            _ = try await observer.join("r")
            _ = try await observer.join("s")
            let inR = try await WSTestClient.connect(port: nodes[0].port, user: "bob")
            let inS = try await WSTestClient.connect(port: nodes[0].port, user: "bob")
            _ = try await inR.join("r")
            _ = try await inS.join("s")
            for room in ["r", "s"] {
                try await observer.waitFor("bob online in \(room)") {
                    $0["op"] as? String == "presence.changed" && $0["room"] as? String == room && $0["user"] as? String == "bob"
                        && $0["status"] as? String == "online"
                }
            }
            await inR.close()
            try await observer.waitFor("bob offline in r") {
                $0["op"] as? String == "presence.changed" && $0["room"] as? String == "r" && $0["user"] as? String == "bob"
                    && $0["status"] as? String == "offline"
            }
            observer.send(["op": "presence", "id": "pr", "room": "r"])
            #expect(try await observer.reply(to: "pr")["online"] as? [String] == ["observer"])
            observer.send(["op": "presence", "id": "ps", "room": "s"])
            #expect(try await observer.reply(to: "ps")["online"] as? [String] == ["bob", "observer"], "the s session is still open")
            #expect(!observer.received(op: "presence.changed").contains { $0["room"] as? String == "s" && $0["status"] as? String == "offline" })
            await inS.close()
            await observer.close()
        }
    }
}
