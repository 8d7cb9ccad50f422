import Foundation
import Synchronization
import Testing

/// The built `chatctl` binary, run as a child process.
enum Chatctl {
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["CHATCTL_BINARY"] { return path }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/chatctl").path
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    /// Runs `chatctl arguments` to completion.
    static func run(_ arguments: [String]) async throws -> Result {
        let running = try RunningChatctl(arguments)
        let status = await running.exit()
        return Result(status: status, stdout: running.stdout, stderr: running.stderr)
    }
}

/// A `chatctl` process whose output is collected as it arrives.
final class RunningChatctl: Sendable {
    /// What the pipes and the termination handler fill in.
    final class Collected: Sendable {
        let out = Mutex(Data())
        let err = Mutex(Data())
        let done = Mutex<(status: Int32?, waiters: [CheckedContinuation<Int32, Never>])>((nil, []))
    }

    private let process: Process
    private let collected = Collected()

    init(_ arguments: [String]) throws {
        guard FileManager.default.isExecutableFile(atPath: Chatctl.binary) else {
            throw ChatctlMissing(path: Chatctl.binary)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Chatctl.binary)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["CHAT_BROKERS"] = nil
        environment["CHAT_SNAPSHOT_DIR"] = nil
        process.environment = environment
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice
        self.process = process
        let collected = self.collected
        stdout.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            collected.out.withLock { $0.append(data) }
        }
        stderr.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            collected.err.withLock { $0.append(data) }
        }
        process.terminationHandler = { process in
            // Whatever is still in the pipes arrives before the status is published.
            let restOut = stdout.fileHandleForReading.readDataToEndOfFile()
            let restErr = stderr.fileHandleForReading.readDataToEndOfFile()
            stdout.fileHandleForReading.readabilityHandler = nil
            stderr.fileHandleForReading.readabilityHandler = nil
            collected.out.withLock { $0.append(restOut) }
            collected.err.withLock { $0.append(restErr) }
            let waiters = collected.done.withLock { state in
                state.status = process.terminationStatus
                defer { state.waiters.removeAll() }
                return state.waiters
            }
            for waiter in waiters { waiter.resume(returning: process.terminationStatus) }
        }
        try process.run()
    }

    var stdout: String { collected.out.withLock { String(decoding: $0, as: UTF8.self) } }
    var stderr: String { collected.err.withLock { String(decoding: $0, as: UTF8.self) } }

    var lines: [String] { stdout.split(separator: "\n").map(String.init) }

    /// Waits until stdout has at least `count` lines, or fails after `timeout`.
    func waitForLines(_ count: Int, timeout: Duration = .seconds(20)) async throws -> [String] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let lines = self.lines
            if lines.count >= count { return lines }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("chatctl printed \(lines.count) lines, expected \(count); stderr: \(stderr)")
        return lines
    }

    func terminate() { process.terminate() }

    func exit() async -> Int32 {
        await withCheckedContinuation { continuation in
            let status = collected.done.withLock { state -> Int32? in
                if let status = state.status { return status }
                state.waiters.append(continuation)
                return nil
            }
            if let status { continuation.resume(returning: status) }
        }
    }
}

struct ChatctlMissing: Error, CustomStringConvertible {
    let path: String
    var description: String { "no chatctl binary at \(path): run `swift build --build-tests` first (or set CHATCTL_BINARY)" }
}
