import Foundation

/// N idle sessions against a `chatd` in its own process, so that its RSS is the server's alone.
/// The sessions spread over 127.0.0.1…127.0.0.k as server addresses (chatd listens on 0.0.0.0):
/// HummingbirdWSClient cannot bind a client's local address, and distinct destination addresses
/// give each its own ephemeral-port space, which is what lifts the ~28k per-address limit.
struct ConnectionsScenario {
    var sessions: Int
    var addresses: Int
    var chatd: String
    var idleSeconds: Double

    struct Result: Codable, Sendable {
        var sessionsRequested: Int
        var sessionsOpen: Int
        var serverRSSBeforeKB: Int
        var serverRSSAfterKB: Int
        var rssPerSessionKB: Double
        var idleCPUPercent: Double
        var connectSeconds: Double
    }

    func run(token: TokenSource) async throws -> Result {
        let port = Int.random(in: 20_000...30_000)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: chatd)
        process.arguments = [
            "--port", "\(port)", "--host", "0.0.0.0", "--jwt-secret", benchSecret, "--node-id", "bench-idle", "--log-level", "error",
            // Every idle session is the same user on loopback.
            "--max-connections-per-ip", "1000000", "--max-sessions-per-user", "1000000",
        ]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        defer { process.terminate() }
        let pid = process.processIdentifier
        let tokenText = try await token.token("idle")
        var probe: BenchClient?
        let deadline = ContinuousClock.now + .seconds(60)
        while probe == nil, ContinuousClock.now < deadline {
            probe = try? await BenchClient.connect(url: "ws://127.0.0.1:\(port)/v1/ws?token=\(tokenText)") { _ in }
            if probe == nil { try await Task.sleep(for: .milliseconds(200)) }
        }
        guard let probe else { throw BenchError.failed("chatd did not come up on port \(port)") }
        await probe.close()
        try await Task.sleep(for: .seconds(2))
        let before = Self.rssKB(pid: pid)
        progress("connections: chatd pid \(pid) RSS \(before) KB; opening \(sessions) sessions over \(addresses) addresses")
        let start = ContinuousClock.now
        let opened = try await withThrowingTaskGroup(of: [BenchClient].self) { group in
            let lanes = 32
            for lane in 0..<lanes {
                group.addTask {
                    var mine: [BenchClient] = []
                    for index in stride(from: lane, to: sessions, by: lanes) {
                        let host = "127.0.0.\(1 + index % addresses)"
                        if let client = try? await BenchClient.connect(url: "ws://\(host):\(port)/v1/ws?token=\(tokenText)", onText: { _ in }) {
                            mine.append(client)
                        }
                    }
                    return mine
                }
            }
            var all: [BenchClient] = []
            for try await part in group { all += part }
            return all
        }
        let connectSeconds = (ContinuousClock.now - start) / .seconds(1)
        try await Task.sleep(for: .seconds(3))
        let after = Self.rssKB(pid: pid)
        let cpuBefore = Self.cpuTicks(pid: pid)
        try await Task.sleep(for: .seconds(idleSeconds))
        let cpuAfter = Self.cpuTicks(pid: pid)
        let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
        let cpu = Double(cpuAfter - cpuBefore) / ticksPerSecond / idleSeconds * 100
        let result = Result(
            sessionsRequested: sessions, sessionsOpen: opened.count, serverRSSBeforeKB: before, serverRSSAfterKB: after,
            rssPerSessionKB: opened.isEmpty ? 0 : (Double(after - before) / Double(opened.count) * 100).rounded() / 100,
            idleCPUPercent: (cpu * 10).rounded() / 10, connectSeconds: (connectSeconds * 10).rounded() / 10)
        progress(
            "connections: \(opened.count) open in \(result.connectSeconds) s, \(result.rssPerSessionKB) KB RSS each, idle CPU \(result.idleCPUPercent)%"
        )
        await withTaskGroup(of: Void.self) { group in
            for client in opened { group.addTask { await client.close() } }
        }
        return result
    }

    static func rssKB(pid: Int32) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]) ?? 0
        }
        return 0
    }

    /// utime + stime of the process, in clock ticks.
    static func cpuTicks(pid: Int32) -> Int {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return 0 }
        // Fields after the command name: state is field 3, utime 14, stime 15.
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 12 else { return 0 }
        return (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
    }
}
