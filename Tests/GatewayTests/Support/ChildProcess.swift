import Foundation
import Synchronization
import Testing

/// A built binary of this package (`chatd`, `chatctl`) run as a child process, with its output
/// collected line by line.
final class ChildProcess: Sendable {
    private let process: Process
    private let output = OutputLines()
    let name: String

    static var binaryDirectory: URL {
        if let directory = ProcessInfo.processInfo.environment["CHAT_BIN_DIR"] { return URL(fileURLWithPath: directory) }
        // Tests/GatewayTests/Support/ChildProcess.swift -> package root -> .build/debug
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/debug")
    }

    init(_ binary: String, _ arguments: [String]) throws {
        name = binary
        process = Process()
        process.executableURL = Self.binaryDirectory.appendingPathComponent(binary)
        process.arguments = arguments
        let output = Pipe()
        let input = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = input
        let collected = self.output
        let reader = output.fileHandleForReading
        try process.run()
        // Blocking reads on a thread of its own until end of file: a dispatch readability handler
        // raced with the process's termination handler in corelibs Foundation and crashed
        // libdispatch (`_dispatch_event_loop_drain`) while a test stopped its chatd.
        Thread.detachNewThread {
            while true {
                let chunk = reader.availableData
                if chunk.isEmpty { return }
                collected.append(String(decoding: chunk, as: UTF8.self))
            }
        }
    }

    /// Waits for an output line containing `text`; returns it.
    func waitForLine(containing text: String, timeout: Duration = .seconds(30)) async throws -> String {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if let line = output.lines.first(where: { $0.contains(text) }) { return line }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("\(name): no line with \(text) within \(timeout); output: \(output.lines.suffix(20))")
        throw WSTestClientError.timeout(text)
    }

    var firstLine: String? { output.lines.first }

    /// Everything the process wrote so far.
    var outputText: String { output.lines.joined(separator: "\n") }

    /// Waits for the process to exit on its own; its exit status, or `nil` if it still runs.
    func exitStatus(timeout: Duration = .seconds(30)) async -> Int32? {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if !process.isRunning { return process.terminationStatus }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    /// Output lines containing any of `texts`, at most `limit` of them.
    func lines(containing texts: [String], limit: Int) -> [String] {
        Array(output.lines.filter { line in texts.contains { line.contains($0) } }.prefix(limit))
    }

    var processIdentifier: Int32 { process.processIdentifier }

    var isRunning: Bool { process.isRunning }

    /// Resident set size in KiB (`VmRSS` of /proc/<pid>/status); nil once the process is gone.
    var residentKiB: Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return nil }
        return Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "")
    }

    func send(_ line: String) {
        (process.standardInput as? Pipe)?.fileHandleForWriting.write(Data((line + "\n").utf8))
    }

    func kill(_ signal: Int32 = SIGKILL) {
        Foundation.kill(process.processIdentifier, signal)
    }

    /// Sends SIGTERM and waits for the process to exit (SIGKILL after 15 s).
    func stop() {
        guard process.isRunning else { return }
        kill(SIGTERM)
        let deadline = Date().addingTimeInterval(15)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(SIGKILL)
            while process.isRunning { usleep(10_000) }
        }
    }

    /// Starts `chatctl kafka` and returns it with its bootstrap servers.
    static func kafka(partitions: Int = 4) async throws -> (ChildProcess, String) {
        let kafka = try ChildProcess("chatctl", ["kafka", "--partitions", "\(partitions)"])
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while ContinuousClock.now < deadline {
            if let line = kafka.firstLine, line.contains(":") { return (kafka, line.trimmingCharacters(in: .whitespaces)) }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw WSTestClientError.timeout("chatctl kafka bootstrap line")
    }

    /// Starts a `chatd` on `brokers` and returns it with its port.
    static func chatd(brokers: String, nodeID: String, extra: [String] = []) async throws -> (ChildProcess, Int) {
        let node = try ChildProcess(
            "chatd",
            [
                "--brokers", brokers, "--port", "0", "--host", "127.0.0.1", "--node-id", nodeID, "--jwt-secret", testSecret,
                "--kafka-consumer-property", "fetch.wait.max.ms=2",
            ] + extra)
        let line = try await node.waitForLine(containing: "chatd listening")
        guard let range = line.range(of: #"port=(\d+)"#, options: .regularExpression),
            let port = Int(line[range].dropFirst("port=".count))
        else { throw WSTestClientError.timeout("port in \(line)") }
        return (node, port)
    }
}

/// Output of a child process, split into lines as it arrives.
final class OutputLines: Sendable {
    private let state = Mutex<(lines: [String], partial: String)>(([], ""))

    func append(_ chunk: String) {
        state.withLock { state in
            state.partial += chunk
            var parts = state.partial.components(separatedBy: "\n")
            state.partial = parts.removeLast()
            state.lines += parts
        }
    }

    var lines: [String] { state.withLock { $0.lines } }
}
