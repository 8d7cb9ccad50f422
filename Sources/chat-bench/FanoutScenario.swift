import Foundation

/// R rooms of M members; one sender per room (the room's first member), all senders together at
/// `rate` messages per second for `seconds`. Every member, the sender included, receives each
/// message: deliveries = rate × M.
struct FanoutScenario {
    var rooms: Int
    var members: Int
    var rate: Int
    var seconds: Double
    /// Seconds of sending at the same rate before measuring: a node's first messages pay one-time
    /// costs (connections, first fetches) that are not the steady state the targets are about.
    var warmupSeconds: Double = 2

    struct Result: Codable, Sendable {
        var warmupSeconds: Double
        var sent: Int
        var acked: Int
        var deliveriesExpected: Int
        var deliveriesReceived: Int
        var deliveriesPerSecond: Double
        var endToEnd: LatencySummary
        var ack: LatencySummary
    }

    func run(url: String, token: @escaping @Sendable (String) async throws -> String) async throws -> Result {
        let endToEnd = LatencyRecorder()
        let acks = LatencyRecorder()
        let deliveries = Counter()
        let joined = Counter()
        let measuredFrom = Threshold(Int64.max)
        let tag = UUID().uuidString.prefix(6)
        var clients: [[BenchClient]] = []
        for room in 0..<rooms {
            var roomClients: [BenchClient] = []
            for member in 0..<members {
                let user = "bench-\(tag)-r\(room)-m\(member)"
                let client = try await BenchClient.connect(url: "\(url)?token=\(try await token(user))") { text in
                    let now = monotonicNanoseconds()
                    if let sent = Stamp.find("T~", in: text) {
                        guard sent >= measuredFrom.value else { return }
                        endToEnd.record(now - sent)
                        deliveries.add()
                    } else if let sent = Stamp.find("ack~", in: text) {
                        guard sent >= measuredFrom.value else { return }
                        acks.record(now - sent)
                    } else if text.contains("\"joined\"") {
                        joined.add()
                    }
                }
                client.send(#"{"op":"join","room":"bench-\#(tag)-\#(room)","id":"j"}"#)
                roomClients.append(client)
            }
            clients.append(roomClients)
        }
        try await waitUntil("\(rooms * members) joins", timeout: .seconds(60)) { joined.current >= rooms * members }
        progress("fan-out: \(rooms) rooms × \(members) members joined; warming up for \(warmupSeconds) s, then \(rate) msg/s for \(seconds) s")
        var sequence = 0
        if warmupSeconds > 0 {
            try await sendPaced(for: warmupSeconds, clients: clients, tag: tag, sequence: &sequence)
        }
        measuredFrom.set(monotonicNanoseconds())
        let start = ContinuousClock.now
        let firstMeasured = sequence
        try await sendPaced(for: seconds, clients: clients, tag: tag, sequence: &sequence)
        let sent = sequence - firstMeasured
        let sendingTime = (ContinuousClock.now - start) / .seconds(1)
        let expected = sent * members
        try? await waitUntil("deliveries", timeout: .seconds(15)) { deliveries.current >= expected && acks.count >= sent }
        let drainTime = (ContinuousClock.now - start) / .seconds(1)
        for member in clients.joined() { await member.close() }
        let result = Result(
            warmupSeconds: warmupSeconds, sent: sent, acked: acks.count, deliveriesExpected: expected, deliveriesReceived: deliveries.current,
            deliveriesPerSecond: (Double(deliveries.current) / max(sendingTime, drainTime)).rounded(),
            endToEnd: endToEnd.summary(), ack: acks.summary())
        progress("fan-out: \(result.deliveriesReceived)/\(expected) deliveries, e2e \(result.endToEnd.line); ack \(result.ack.line)")
        return result
    }

    /// Sends one message per `1 / rate` seconds, round-robin over the rooms' first members.
    private func sendPaced(for duration: Double, clients: [[BenchClient]], tag: Substring, sequence: inout Int) async throws {
        let start = ContinuousClock.now
        var sentHere = 0
        while true {
            let elapsed = (ContinuousClock.now - start) / .seconds(1)
            if elapsed >= duration { break }
            let due = min(Int(elapsed * Double(rate)), Int(duration * Double(rate)))
            while sentHere < due {
                let room = sequence % rooms
                let now = monotonicNanoseconds()
                clients[room][0].send(
                    #"{"op":"send","room":"bench-\#(tag)-\#(room)","cmid":"c\#(sequence)","id":"\#(Stamp.id(now))","body":"\#(Stamp.body(now))"}"#)
                sentHere += 1
                sequence += 1
            }
            try await Task.sleep(for: .milliseconds(1))
        }
    }
}

/// Closed loop: `clients` sessions, each in its own room, keep `window` sends in flight; reports
/// acknowledgements per second (each ack means the message is durable in Kafka).
struct IngestScenario {
    var clients: Int
    var window: Int
    var seconds: Double

    struct Result: Codable, Sendable {
        var clients: Int
        var window: Int
        var acked: Int
        var acksPerSecond: Double
        var ack: LatencySummary
    }

    func run(url: String, token: @escaping @Sendable (String) async throws -> String) async throws -> Result {
        let acks = LatencyRecorder()
        let acked = Counter()
        let joined = Counter()
        let measuring = Counter()
        let tag = UUID().uuidString.prefix(6)
        let sequence = Counter()
        var sessions: [BenchClient] = []
        for index in 0..<clients {
            let room = "ingest-\(tag)-\(index)"
            let holder = ClientHolder()
            let client = try await BenchClient.connect(url: "\(url)?token=\(try await token("ingest-\(tag)-\(index)"))") { text in
                if let sent = Stamp.find("ack~", in: text) {
                    if measuring.current == 1 {
                        acks.record(monotonicNanoseconds() - sent)
                        acked.add()
                    }
                    // Closed loop: every ack releases the next send.
                    if measuring.current < 2 { holder.client?.send(Self.frame(room: room, sequence: sequence)) }
                } else if text.contains("\"joined\"") {
                    joined.add()
                }
            }
            holder.client = client
            client.send(#"{"op":"join","room":"\#(room)","id":"j"}"#)
            sessions.append(client)
        }
        try await waitUntil("ingest joins", timeout: .seconds(30)) { joined.current >= clients }
        for client in sessions {
            for _ in 0..<window { client.send(Self.frame(room: nil, sequence: sequence, client: client, sessions: sessions, tag: tag)) }
        }
        try await Task.sleep(for: .seconds(1))  // warm-up: the window fills, batches form
        measuring.add()
        let start = ContinuousClock.now
        try await Task.sleep(for: .seconds(seconds))
        let elapsed = (ContinuousClock.now - start) / .seconds(1)
        measuring.add()
        let count = acked.current
        try await Task.sleep(for: .seconds(1))
        for client in sessions { await client.close() }
        let result = Result(
            clients: clients, window: window, acked: count, acksPerSecond: (Double(count) / elapsed).rounded(), ack: acks.summary())
        progress("ingest: \(result.acksPerSecond) acks/s with \(clients) sessions × \(window) in flight; ack \(result.ack.line)")
        return result
    }

    private static func frame(room: String, sequence: Counter) -> String {
        sequence.add()
        let now = monotonicNanoseconds()
        return #"{"op":"send","room":"\#(room)","cmid":"i\#(sequence.current)-\#(now)","id":"\#(Stamp.id(now))","body":"x"}"#
    }

    private static func frame(room: String?, sequence: Counter, client: BenchClient, sessions: [BenchClient], tag: Substring) -> String {
        let index = sessions.firstIndex { $0 === client } ?? 0
        return frame(room: room ?? "ingest-\(tag)-\(index)", sequence: sequence)
    }
}

/// Set once, right after the client exists and before it sends anything.
final class ClientHolder: @unchecked Sendable {
    var client: BenchClient?
}

func waitUntil(_ what: String, timeout: Duration, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else { throw BenchError.failed("timed out waiting for \(what)") }
        try await Task.sleep(for: .milliseconds(10))
    }
}
