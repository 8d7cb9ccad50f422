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

/// Closed loop: `clients` sessions spread over `rooms` rooms (by default each in its own), keep
/// `window` sends in flight each; reports acknowledgements per second (each ack means the message
/// is durable in Kafka) and the bench process's CPU over the measured seconds.
struct IngestScenario {
    var clients: Int
    var window: Int
    var seconds: Double
    /// Rooms the sessions spread over, round-robin; `nil`: one room per session.
    var rooms: Int? = nil
    var client: IngestClient = .nio

    /// The WebSocket client the sessions use.
    enum IngestClient: String, Codable, Sendable, CaseIterable {
        /// ``IngestConnection``: bare NIO channels, the closed loop on their event loops.
        case nio
        /// ``BenchClient`` (HummingbirdWSClient), as the fan-out scenario uses.
        case hummingbird
    }

    struct Result: Codable, Sendable {
        var clients: Int
        var rooms: Int?
        var window: Int
        var client: IngestClient?
        var acked: Int
        var acksPerSecond: Double
        var ack: LatencySummary
        /// This process's CPU (user + system) over the measured seconds, in cores: with `--url`,
        /// the client's alone; in process, the client's and the gateway's.
        var processCores: Double?
    }

    func run(url: String, token: @escaping @Sendable (String) async throws -> String) async throws -> Result {
        let roomCount = rooms ?? clients
        let run = IngestRun(tag: UUID().uuidString.prefix(6))
        func room(_ index: Int) -> String { "ingest-\(run.tag)-\(index % roomCount)" }
        let start: ContinuousClock.Instant
        let cpuAtStart: Double
        var closers: [() async -> Void] = []
        switch client {
        case .nio:
            var sessions: [IngestConnection] = []
            for index in 0..<clients {
                let connection = try await IngestConnection.connect(
                    url: "\(url)?token=\(try await token("ingest-\(run.tag)-\(index)"))", room: room(index), run: run)
                sessions.append(connection)
                closers.append { await connection.close() }
            }
            try await waitUntil("ingest joins", timeout: .seconds(30)) { run.joined.current >= clients }
            for session in sessions { session.startSending(window) }
        case .hummingbird:
            var sessions: [BenchClient] = []
            for index in 0..<clients {
                let holder = ClientHolder()
                let name = room(index)
                let client = try await BenchClient.connect(url: "\(url)?token=\(try await token("ingest-\(run.tag)-\(index)"))") { text in
                    if let sent = Stamp.find("ack~", in: text) {
                        let phase = run.phase.load(ordering: .relaxed)
                        if phase == 1 {
                            run.acks.record(monotonicNanoseconds() - sent)
                            run.acked.add()
                        }
                        // Closed loop: every ack releases the next send.
                        if phase < 2 { holder.client?.send(run.sendFrame(room: name)) }
                    } else if text.contains("\"joined\"") {
                        run.joined.add()
                    }
                }
                holder.client = client
                client.send(#"{"op":"join","room":"\#(name)","id":"j"}"#)
                sessions.append(client)
                closers.append { await client.close() }
            }
            try await waitUntil("ingest joins", timeout: .seconds(30)) { run.joined.current >= clients }
            for (index, session) in sessions.enumerated() {
                for _ in 0..<window { session.send(run.sendFrame(room: room(index))) }
            }
        }
        try await Task.sleep(for: .seconds(1))  // warm-up: the window fills, batches form
        run.phase.store(1, ordering: .relaxed)
        start = ContinuousClock.now
        cpuAtStart = processCPUSeconds()
        try await Task.sleep(for: .seconds(seconds))
        let elapsed = (ContinuousClock.now - start) / .seconds(1)
        let cores = (processCPUSeconds() - cpuAtStart) / elapsed
        run.phase.store(2, ordering: .relaxed)
        let count = run.acked.current
        try await Task.sleep(for: .seconds(1))
        for close in closers { await close() }
        let result = Result(
            clients: clients, rooms: roomCount, window: window, client: client, acked: count,
            acksPerSecond: (Double(count) / elapsed).rounded(), ack: run.acks.summary(), processCores: (cores * 100).rounded() / 100)
        progress(
            "ingest: \(result.acksPerSecond) acks/s with \(clients) sessions over \(roomCount) rooms × \(window) in flight (\(client.rawValue) client); "
                + "ack \(result.ack.line); process CPU \(result.processCores ?? 0) cores")
        return result
    }
}

/// This process's user + system CPU seconds so far (all threads).
func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6
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
