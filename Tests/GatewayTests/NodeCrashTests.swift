import ChatDomain
import ChatTestSupport
import Foundation
import Testing

/// Gateways as separate processes sharing a `chatctl kafka` cluster, one killed with SIGKILL.
@Suite("A gateway killed with SIGKILL", .serialized, .timeLimit(.minutes(3)))
struct NodeCrashTests {
    @Test("Its clients resume on another node with the complete ordered sequence; its users go offline within the bound")
    func killedNode() async throws {
        let (kafka, brokers) = try await ChildProcess.kafka()
        defer { kafka.stop() }
        let presence = ["--presence-heartbeat", "1", "--presence-stale-after", "3"]
        let (doomed, doomedPort) = try await ChildProcess.chatd(brokers: brokers, nodeID: "doomed", extra: presence)
        let (survivor, survivorPort) = try await ChildProcess.chatd(brokers: brokers, nodeID: "survivor", extra: presence)
        defer { survivor.stop() }

        let sender = try await WSTestClient.connect(port: survivorPort, user: "sender")
        _ = try await sender.join("crash")
        let observer = try await WSTestClient.connect(port: survivorPort, user: "observer")
        _ = try await observer.join("crash")
        var victims: [WSTestClient] = []
        for index in 0..<3 {
            let victim = try await WSTestClient.connect(port: doomedPort, user: "victim\(index)")
            _ = try await victim.join("crash")
            victims.append(victim)
        }
        let ghost = try await WSTestClient.connect(port: doomedPort, user: "ghost")
        _ = try await ghost.join("crash")
        try await observer.waitFor("ghost online") { $0["op"] as? String == "presence.changed" && $0["user"] as? String == "ghost" }

        let total = 200
        let sending = Task {
            for index in 0..<total {
                sender.send(["op": "send", "id": "s\(index)", "room": "crash", "cmid": "c\(index)", "body": "\(index)"])
                try await Task.sleep(for: .milliseconds(25))  // under the default 50 requests/s per session
            }
        }
        for victim in victims { _ = try await victim.waitForCount(40, op: "message", room: "crash") }
        doomed.kill(SIGKILL)
        let killedAt = ContinuousClock.now

        // Each victim notices, reconnects to the survivor and resumes from its last cursor.
        var resumed: [WSTestClient] = []
        for victim in victims {
            _ = await victim.closeCode(timeout: .seconds(10))
            let last = try #require(victim.received(op: "message", room: "crash").last?["cursor"] as? String)
            let again = try await WSTestClient.connect(port: survivorPort, user: victim.user)
            let joined = try await again.join("crash", since: last)
            #expect(joined["recovered"] as? Bool == true)
            resumed.append(again)
        }
        let offline = try await observer.waitFor("ghost offline", timeout: .seconds(15)) {
            $0["op"] as? String == "presence.changed" && $0["user"] as? String == "ghost" && $0["status"] as? String == "offline"
        }
        let detection = ContinuousClock.now - killedAt
        #expect(offline["room"] as? String == "crash")
        #expect(detection < .seconds(3 + 3), "offline within the stale bound (3 s) plus one heartbeat and one check: took \(detection)")

        try await sending.value
        _ = try await sender.reply(to: "s\(total - 1)", timeout: .seconds(30))
        let all = try await sender.waitForCount(total, op: "message", room: "crash").compactMap { $0["body"] as? String }
        #expect(all == (0..<total).map(String.init), "the room's order is the send order")
        for (victim, again) in zip(victims, resumed) {
            let before = victim.received(op: "message", room: "crash").compactMap { $0["body"] as? String }
            let after = try await again.waitForCount(total - before.count, op: "message", room: "crash").compactMap { $0["body"] as? String }
            #expect(before + after == all, "\(victim.user) has every message once, in order, across the crash")
        }
        for client in resumed + [sender, observer] { await client.close() }
        ghost.abort()
        for victim in victims { victim.abort() }
    }
}
