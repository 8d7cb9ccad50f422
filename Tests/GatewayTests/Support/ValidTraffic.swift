import Foundation
import Synchronization
import Testing

/// Well-behaved users on both nodes who keep chatting while hostile clients come and go: two rooms,
/// every user a member of both, two senders per room (one per node).
final class ValidTraffic: Sendable {
    let clients: [WSTestClient]
    /// (sender index, room) pairs.
    let senders: [(Int, String)]
    private let sent = Mutex<[Int]>([])
    private let stopped = Mutex(false)

    private init(clients: [WSTestClient], senders: [(Int, String)]) {
        self.clients = clients
        self.senders = senders
        sent.withLock { $0 = Array(repeating: 0, count: senders.count) }
    }

    /// Users v0 and v1 on the first port, v2 and v3 on the second; all join both rooms.
    static func start(ports: [Int], learned: LearnedValues) async throws -> ValidTraffic {
        var clients: [WSTestClient] = []
        for index in 0..<4 {
            let client = try await WSTestClient.connect(port: ports[index / 2], user: "v\(index)")
            for room in HostileSession.validRooms { learned.learn(from: try await client.join(room)) }
            clients.append(client)
        }
        return ValidTraffic(clients: clients, senders: [(0, "valid-a"), (2, "valid-a"), (1, "valid-b"), (3, "valid-b")])
    }

    /// Sends until ``stop()``, one message per sender every `interval` (well under the rate limit).
    func run(interval: Duration = .milliseconds(100)) async {
        var number = 0
        while !stopped.withLock({ $0 }) {
            for (slot, (sender, room)) in senders.enumerated() {
                let tag = "v\(sender)-\(number)"
                clients[sender].send(["op": "send", "id": tag, "room": room, "cmid": tag, "body": tag])
                sent.withLock { $0[slot] = number + 1 }
            }
            number += 1
            try? await Task.sleep(for: interval)
        }
    }

    func stop() { stopped.withLock { $0 = true } }

    /// Every send acked; every member of a room got the senders' messages exactly once, each
    /// sender's in its order, all members in one order; no valid message edited or deleted.
    func verify() async -> [String] {
        var failures: [String] = []
        let counts = sent.withLock { $0 }
        var msgIds: [String: Set<String>] = [:]
        for (slot, (sender, room)) in senders.enumerated() where counts[slot] > 0 {
            let client = clients[sender]
            guard (try? await client.reply(to: "v\(sender)-\(counts[slot] - 1)", timeout: .seconds(30))) != nil else {
                failures.append("v\(sender): no reply to its last send")
                continue
            }
            for number in 0..<counts[slot] {
                let id = "v\(sender)-\(number)"
                let reply = client.receivedFrames.first { $0["id"] as? String == id }
                if reply?["op"] as? String != "ack" { failures.append("\(id): \(reply.map { "\($0)" } ?? "no reply"), not an ack") }
                if let msgId = reply?["msgId"] as? String { msgIds[room, default: []].insert(msgId) }
            }
        }
        for room in HostileSession.validRooms {
            let expected = senders.enumerated().filter { $0.element.1 == room }.map { (sender: $0.element.0, count: counts[$0.offset]) }
            let total = expected.reduce(0) { $0 + $1.count }
            var reference: [String]?
            for client in clients {
                let deadline = ContinuousClock.now + .seconds(30)
                var bodies: [String] = []
                repeat {
                    bodies = client.received(op: "message", room: room).filter { ($0["from"] as? String).map { $0.hasPrefix("v") } ?? false }
                        .compactMap { $0["body"] as? String }
                    if bodies.count >= total { break }
                    try? await Task.sleep(for: .milliseconds(20))
                } while ContinuousClock.now < deadline
                for (sender, count) in expected {
                    let mine = bodies.filter { $0.hasPrefix("v\(sender)-") }
                    if mine != (0..<count).map({ "v\(sender)-\($0)" }) {
                        failures.append("\(client.user) in \(room): v\(sender)'s messages lost, repeated or reordered: got \(mine.count) of \(count)")
                    }
                }
                if let reference, reference != bodies { failures.append("\(client.user) in \(room): another order than v0's") }
                reference = reference ?? bodies
                for op in ["edited", "deleted"] {
                    let changed = client.received(op: op, room: room).filter { msgIds[room]?.contains($0["msgId"] as? String ?? "") ?? false }
                    if !changed.isEmpty { failures.append("\(client.user) in \(room): a valid user's message was \(op): \(changed.prefix(3))") }
                }
            }
        }
        for client in clients where client.isClosed { failures.append("\(client.user): disconnected by the server") }
        return failures
    }
}
