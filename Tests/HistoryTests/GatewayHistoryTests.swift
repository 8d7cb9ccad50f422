import ChatDomain
import ChatGateway
import ChatHistory
import ChatServer
import ChatTestSupport
import Foundation
import HummingbirdTesting
import HummingbirdWSClient
import NIOCore
import ServiceLifecycle
import Synchronization
import Testing

/// The HTTP history API of a node that runs its own compactor, after retention.
@Suite("Gateway history from snapshots", .timeLimit(.minutes(2)))
struct GatewayHistoryTests {
    static let secret = "history-tests-secret-of-at-least-32-bytes"

    @Test("History the log no longer holds: paged over HTTP, and edited by its authors only")
    func httpHistoryAfterRetention() async throws {
        try await withChatCluster(partitions: 1) { fixture, root in
            let started = try await CompactingNode.start(fixture, root: root, nodeID: "history-node", secret: Self.secret)
            let port = started.port

            let log = RandomChatLog(seed: 31, count: 8000, bodyPadding: 1000)
            let directory = SnapshotDirectory(root: root, epoch: started.node.epoch)
            for round in 0..<4 {
                let range = (round * 2000)..<((round + 1) * 2000)
                try await fixture.produce(range.map(log.value(at:)))
                // The node's own compactor folds each round before the next one pushes the log start past it.
                let deadline = ContinuousClock.now + .seconds(30)
                while (try? directory.manifest(0))??.coveredEnd != Int64(range.upperBound), ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(try directory.manifest(0)?.coveredEnd == Int64(range.upperBound))
            }
            let low = try await fixture.admin.watermarks(topic: ChatTopics.rooms, partition: 0).low
            try #require(low > 1000, "the embedded cluster advanced its log start (low \(low))")

            let authority = try await TokenAuthority(mode: .sharedSecret(Self.secret))
            let token = try await authority.issue(user: "reader", rooms: nil, admin: false, lifetime: 600)
            for room in log.rooms {
                var paged: [String] = []
                var before = ""
                while true {
                    let (status, body) = try await get(port: port, "/v1/rooms/\(room)/messages?limit=200\(before)", token: token)
                    #expect(status == 200, "\(body)")
                    let page = json(body)
                    let messages = page["messages"] as? [[String: Any]] ?? []
                    paged = messages.compactMap { $0["body"] as? String } + paged
                    guard page["more"] as? Bool == true, let oldest = messages.first?["cursor"] as? String else { break }
                    before = "&before=\(oldest)"
                }
                #expect(paged == log.oracle(room: room, span: started.configuration.duplicateSpan).map(\.body), "room \(room)")
            }

            // Edits and deletes of a message only the snapshots still hold are authorised from them.
            let room = log.rooms[0]
            let old = try #require(log.oracle(room: room, span: started.configuration.duplicateSpan).first { $0.offset < low })
            let author = try await authority.issue(user: old.from, rooms: nil, admin: false, lifetime: 600)
            let stranger = try await authority.issue(user: "mallory", rooms: nil, admin: false, lifetime: 600)
            let edit = #"{"op":"edit","room":"\#(room)","msgId":"\#(old.msgId)","body":"edited long after","id":"e"}"#
            let refused = try await exchange(port: port, token: stranger, room: room.value, request: edit)
            #expect(refused.contains(#""op":"error""#) && refused.contains(#""code":"forbidden""#), "\(refused)")
            let accepted = try await exchange(port: port, token: author, room: room.value, request: edit)
            #expect(accepted.contains(#""op":"ack""#) && accepted.contains(#""msgId":"\#(old.msgId)""#), "\(accepted)")
            await started.stop()
        }
    }

    /// Joins `room` over a WebSocket, sends `request` (with id "e") and returns the reply to it.
    private func exchange(port: Int, token: String, room: String, request: String) async throws -> String {
        let reply = Mutex("")
        _ = try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/v1/ws?token=\(token)", logger: quietLogger("test.ws")) {
            inbound, outbound, _ in
            try await outbound.write(.text(#"{"op":"join","room":"\#(room)","id":"j"}"#))
            for try await message in inbound.messages(maxSize: 1 << 22) {
                guard case .text(let text) = message else { continue }
                if text.contains(#""op":"joined""#) { try await outbound.write(.text(request)) }
                if text.contains(#""id":"e""#) {
                    reply.withLock { $0 = text }
                    break
                }
            }
            try await outbound.close(.normalClosure, reason: nil)
        }
        return reply.withLock { $0 }
    }

    private func get(port: Int, _ path: String, token: String) async throws -> (Int, String) {
        try await TestClient.withClient(host: "127.0.0.1", port: port) { client in
            let response = try await client.execute(
                TestClient.Request(path, method: .get, authority: "127.0.0.1:\(port)", headers: [.authorization: "Bearer \(token)"], body: nil))
            return (Int(response.status.code), response.body.map { String(buffer: $0) } ?? "")
        }
    }
}
