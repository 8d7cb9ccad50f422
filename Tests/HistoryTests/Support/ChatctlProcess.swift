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
///
/// Each pipe is read by a thread of its own with blocking reads until end of file (no dispatch
/// readability handlers, which race with the termination handler in corelibs Foundation).
final class RunningChatctl: Sendable {
    /// What the reader threads and the termination handler fill in.
    final class Collected: Sendable {
        struct Completion {
            var status: Int32?
            var openPipes = 2
            var waiters: [CheckedContinuation<Int32, Never>] = []
        }

        let out = Mutex(Data())
        let err = Mutex(Data())
        let done = Mutex(Completion())

        /// Resumes the waiters once the process exited and both pipes reached end of file.
        func update(_ change: (inout Completion) -> Void) {
            let (status, waiters) = done.withLock { state -> (Int32?, [CheckedContinuation<Int32, Never>]) in
                change(&state)
                guard let status = state.status, state.openPipes == 0 else { return (nil, []) }
                defer { state.waiters.removeAll() }
                return (status, state.waiters)
            }
            if let status { for waiter in waiters { waiter.resume(returning: status) } }
        }
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
        process.terminationHandler = { process in
            let status = process.terminationStatus
            collected.update { $0.status = status }
        }
        try process.run()
        for (pipe, isOut) in [(stdout, true), (stderr, false)] {
            let handle = pipe.fileHandleForReading
            Thread {
                while true {
                    let data = handle.availableData
                    if data.isEmpty { break }
                    if isOut { collected.out.withLock { $0.append(data) } } else { collected.err.withLock { $0.append(data) } }
                }
                collected.update { $0.openPipes -= 1 }
            }.start()
        }
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
            collected.update { $0.waiters.append(continuation) }
        }
    }
}

struct ChatctlMissing: Error, CustomStringConvertible {
    let path: String
    var description: String { "no chatctl binary at \(path): run `swift build --build-tests` first (or set CHATCTL_BINARY)" }
}
