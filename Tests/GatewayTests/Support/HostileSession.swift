import Foundation
import NIOWebSocket
import Synchronization
import Testing

/// The frames hostile sessions sent to each node lately, to name what killed a node.
final class SentLog: Sendable {
    private let entries = Mutex<[Int: [String]]>([:])

    func record(node: Int, _ line: String) {
        entries.withLock { entries in
            entries[node, default: []].append(line)
            if entries[node]!.count > 40 { entries[node]!.removeFirst() }
        }
    }

    func last(node: Int) -> [String] { entries.withLock { $0[node] ?? [] } }
}

/// One hostile client: learns real values from the server, then sends mutated requests, and checks
/// that every request got an answer or the session was closed with a documented code.
struct HostileSession {
    /// Close codes the protocol documents for a session the server ends itself.
    static let documentedCloseCodes = [1009, 4001, 4008, 4029].map { WebSocketErrorCode(codeNumber: $0) }
    /// Replies and errors: the frames that answer a request (events do not).
    static let answerOps: Set<String> = ["joined", "left", "ack", "history", "presence", "pong", "authed", "error"]
    static let validRooms = ["valid-a", "valid-b"]

    let number: Int
    let node: Int
    let port: Int
    let learned: LearnedValues
    let log: SentLog
    /// Systematic probes (integer field at an edge) this session sends before random ones.
    let systematic: [(HostileMutator.IntegerField, String)]
    var mutator: HostileMutator

    private var mine = Set<String>()
    private var expected: [String: String] = [:]
    private var anonymous: [String] = []
    private var fences: [String] = []
    private var joined: [String] = []
    private var sent = 0

    init(number: Int, node: Int, port: Int, seed: UInt64, learned: LearnedValues, log: SentLog, systematic: [(HostileMutator.IntegerField, String)]) {
        self.number = number
        self.node = node
        self.port = port
        self.learned = learned
        self.log = log
        self.systematic = systematic
        mutator = HostileMutator(seed: seed)
    }

    private mutating func freshID() -> String {
        sent += 1
        let id = "h\(number)-\(sent)"
        mine.insert(id)
        return id
    }

    /// Sends a probe and notes what must answer it: a reply with its id when it carries this
    /// session's id (typing and read excepted: they may have no reply), else one answer without a
    /// recognisable id (a frame that is not an object, or whose id was mutated).
    private mutating func send(_ probe: HostileProbe, id: String, on client: WSTestClient) {
        client.send(raw: probe.text)
        log.record(node: node, "session \(number) [\(probe.label)] \(probe.text.prefix(300))")
        let object = try? JSONSerialization.jsonObject(with: Data(probe.text.utf8), options: [.fragmentsAllowed]) as? [String: Any]
        guard let object else { return anonymous.append(probe.label) }
        let op = object["op"] as? String
        if op == "typing" || op == "read" { return }
        if object["id"] as? String == id { expected[id] = "\(probe.label): \(probe.text.prefix(200))" } else { anonymous.append(probe.label) }
    }

    private mutating func fence(_ client: WSTestClient) {
        let id = freshID()
        fences.append(id)
        client.send(raw: #"{"op":"ping","id":"\#(id)"}"#)
    }

    /// Runs the session; returns what went wrong (empty when the server held the contract).
    mutating func run() async -> [String] {
        let user = "hostile\(number % 16)"
        let client: WSTestClient
        do { client = try await WSTestClient.connect(port: port, user: user) } catch { return ["session \(number): connect failed: \(error)"] }
        // Learn: a room of its own, a message in it, a room of the valid users and its history.
        let own = "hroom\(number % 6)"
        let valid = mutator.pick(Self.validRooms)
        for (op, room) in [("join", own), ("join", valid)] {
            let id = freshID()
            send(
                HostileProbe(text: HostileMutator.object([("op", "\"\(op)\""), ("id", "\"\(id)\""), ("room", "\"\(room)\"")]), label: "learn \(op)"),
                id: id, on: client)
            joined.append(room)
        }
        let sendID = freshID()
        let learnSend = [("op", "\"send\""), ("id", "\"\(sendID)\""), ("room", "\"\(own)\""), ("cmid", "\"\(sendID)\""), ("body", "\"learn\"")]
        send(HostileProbe(text: HostileMutator.object(learnSend), label: "learn send"), id: sendID, on: client)
        let historyID = freshID()
        send(
            HostileProbe(text: #"{"op":"history","id":"\#(historyID)","room":"\#(valid)","limit":20}"#, label: "learn history"), id: historyID,
            on: client)
        fence(client)
        // Not `reply(to:)`: a missing answer is reported by `check` with the seed, once.
        let learning = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < learning, !client.isClosed {
            let ids = Set(client.receivedFrames.compactMap { $0["id"] as? String })
            if ids.contains(historyID), ids.contains(sendID) { break }
            try? await Task.sleep(for: .milliseconds(10))
        }
        for frame in client.receivedFrames { learned.learn(from: frame) }

        // Mutate: the systematic edges first, then random mutations, fenced by pings.
        let count = mutator.int(12..<36)
        var untilFence = mutator.int(1..<8)
        for index in 0..<max(count, systematic.count) {
            let id = freshID()
            let probe =
                index < systematic.count
                ? mutator.integerProbe(systematic[index].0, systematic[index].1, id: id, joined: joined, learned: learned)
                : mutator.randomProbe(id: id, joined: joined, learned: learned)
            send(probe, id: id, on: client)
            untilFence -= 1
            if untilFence == 0 {
                fence(client)
                untilFence = mutator.int(1..<8)
            }
        }
        fence(client)
        var failures = await check(client)
        guard !client.isClosed else { return failures }

        // Endings: an oversized frame (1009), a request flood (rate limit, maybe 4029), or a plain
        // or abrupt disconnect.
        switch mutator.int(0..<100) {
        case 0..<8:
            let huge = #"{"op":"send","room":"\#(own)","cmid":"x","body":""# + String(repeating: "a", count: 70_000) + "\"}"
            client.send(raw: huge)
            log.record(node: node, "session \(number) [oversized frame] \(huge.utf8.count) bytes")
            let code = await client.closeCode(timeout: .seconds(15))
            if code != WebSocketErrorCode(codeNumber: 1009) {
                failures.append("session \(number): a 70,000-byte frame closed with \(String(describing: code)), not 1009")
            }
        case 8..<12:
            failures += await flood(client)
        case 12..<40:
            client.abort()
        default:
            await client.close()
        }
        return failures
    }

    /// Waits for every answer; lists what is missing.
    private func check(_ client: WSTestClient) async -> [String] {
        // Longer than the server's own bounds on a request (a 5 s watermark query, a 10 s idle
        // reader, a 30 s send timeout), so a slow machine is not taken for a lost answer.
        let deadline = ContinuousClock.now + .seconds(50)
        var failures: [String] = []
        while true {
            let frames = client.receivedFrames
            for frame in frames { learned.learn(from: frame) }
            let answered = Set(frames.compactMap { $0["id"] as? String })
            let missing = expected.keys.filter { !answered.contains($0) }
            let fencesAnswered = fences.allSatisfy(answered.contains)
            let foreign = frames.filter { frame in
                guard let op = frame["op"] as? String, Self.answerOps.contains(op) else { return false }
                guard let id = frame["id"] as? String else { return true }
                return !mine.contains(id)
            }
            let rateLimited = foreign.filter { $0["code"] as? String == "rate_limited" }.count
            let complete = fencesAnswered && missing.count <= rateLimited && foreign.count >= anonymous.count + missing.count
            if client.isClosed {
                let code = await client.closeCode(timeout: .seconds(1))
                if let code, Self.documentedCloseCodes.contains(code) { return [] }
                return ["session \(number): the connection ended with close code \(String(describing: code)), not a documented one"]
            }
            if complete {
                let pongs = frames.filter { $0["op"] as? String == "pong" }.compactMap { $0["id"] as? String }.filter { fences.contains($0) }
                if pongs != fences { failures.append("session \(number): pongs out of order: \(pongs) for pings \(fences)") }
                return failures
            }
            if ContinuousClock.now > deadline {
                let labels = missing.map { "\($0) [\(expected[$0]!)]" }.sorted()
                return [
                    "session \(number): unanswered after 50 s: \(labels.prefix(10)); fences answered: \(fencesAnswered); "
                        + "answers without a known id \(foreign.count) for \(anonymous.count) such requests (\(anonymous.prefix(10)))"
                ]
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// 300 pings at once: each gets its pong or a rate_limited error, or the session is closed 4029.
    private mutating func flood(_ client: WSTestClient) async -> [String] {
        var ids: [String] = []
        for _ in 0..<300 {
            let id = freshID()
            ids.append(id)
            client.send(raw: #"{"op":"ping","id":"\#(id)"}"#)
        }
        log.record(node: node, "session \(number) [flood] 300 pings")
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if client.isClosed {
                let code = await client.closeCode(timeout: .seconds(1))
                if let code, Self.documentedCloseCodes.contains(code) { return [] }
                return ["session \(number): a flood ended with close code \(String(describing: code))"]
            }
            let pongs = client.count(op: "pong")
            let limited = client.receivedFrames.filter { $0["code"] as? String == "rate_limited" }.count
            if pongs + limited >= ids.count + fences.count {
                await client.close()
                return []
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        await client.close()
        return ["session \(number): 300 pings got \(client.count(op: "pong")) pongs and no close"]
    }
}
