import Foundation
import Synchronization

/// A child process of the soak (`chatctl kafka`, `chatd`): its stderr (and, unless its stdout
/// lines are wanted, its stdout) go to a log file, so a full pipe can never block it.
///
/// `Process` is not `Sendable`; this wrapper only calls its thread-safe parts (`processIdentifier`,
/// `isRunning`, `terminationStatus`) after `run()`, so it is shared as `@unchecked Sendable`.
final class ManagedProcess: @unchecked Sendable {
    let name: String
    let pid: Int32
    private let process: Process
    private let stdin: FileHandle?
    /// Lines of stdout, when they were asked for (read on a thread of its own with blocking reads:
    /// a readability handler raced with process termination in the tests and crashed libdispatch).
    let lines: LineBuffer?

    init(
        name: String, executable: String, arguments: [String], log: URL, header: String? = nil, keepStdin: Bool = false,
        readStdout: Bool = false
    ) throws {
        self.name = name
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        // Appends: a restarted gateway's log follows the killed one's.
        if !FileManager.default.fileExists(atPath: log.path) { FileManager.default.createFile(atPath: log.path, contents: nil) }
        let logHandle = try FileHandle(forWritingTo: log)
        logHandle.seekToEndOfFile()
        if let header { logHandle.write(Data("=== chat-soak: \(header)\n".utf8)) }
        process.standardError = logHandle
        var stdoutPipe: Pipe?
        if readStdout {
            let pipe = Pipe()
            process.standardOutput = pipe
            stdoutPipe = pipe
        } else {
            process.standardOutput = logHandle
        }
        var inputPipe: Pipe?
        if keepStdin {
            let pipe = Pipe()
            process.standardInput = pipe
            inputPipe = pipe
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        try process.run()
        self.process = process
        self.pid = process.processIdentifier
        self.stdin = inputPipe?.fileHandleForWriting
        ChildRegistry.shared.add(pid)
        if let stdoutPipe {
            let buffer = LineBuffer()
            lines = buffer
            let reader = stdoutPipe.fileHandleForReading
            let thread = Thread {
                while true {
                    let chunk = reader.availableData
                    if chunk.isEmpty { break }
                    buffer.append(String(decoding: chunk, as: UTF8.self))
                }
            }
            thread.start()
        } else {
            lines = nil
        }
    }

    var isRunning: Bool { process.isRunning }

    /// The exit status or signal, once it has ended.
    var exitDescription: String {
        guard !process.isRunning else { return "running" }
        return process.terminationReason == .uncaughtSignal ? "signal \(process.terminationStatus)" : "exit \(process.terminationStatus)"
    }

    func writeLine(_ line: String) {
        stdin?.write(Data((line + "\n").utf8))
    }

    func signal(_ signal: Int32) {
        kill(pid, signal)
    }

    /// Waits up to `timeout` for the process to end; true when it has.
    func waitForExit(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(20))
        }
        ChildRegistry.shared.remove(pid)
        return true
    }

    /// SIGKILL, as a machine failure would end it.
    func killHard() async {
        signal(SIGKILL)
        _ = await waitForExit(timeout: .seconds(10))
    }

    /// SIGTERM (graceful shutdown), then SIGKILL if it has not ended within `grace`.
    func stop(grace: Duration = .seconds(15)) async {
        guard process.isRunning else { return ChildRegistry.shared.remove(pid) }
        signal(SIGTERM)
        if await !waitForExit(timeout: grace) { await killHard() }
    }

    /// Resident memory (VmRSS of /proc/<pid>/status) in KiB; nil once the process is gone.
    var residentKiB: Int? {
        guard process.isRunning, let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int($0) }
        }
        return nil
    }
}

/// Lines a child wrote to stdout, as they arrive.
final class LineBuffer: Sendable {
    private let state = Mutex<(lines: [String], partial: String)>(([], ""))

    func append(_ chunk: String) {
        state.withLock { state in
            state.partial += chunk
            var parts = state.partial.components(separatedBy: "\n")
            state.partial = parts.removeLast()
            state.lines += parts
        }
    }

    var count: Int { state.withLock { $0.lines.count } }

    func line(_ index: Int) -> String? {
        state.withLock { index < $0.lines.count ? $0.lines[index] : nil }
    }
}

/// Every child still running, so that SIGINT / SIGTERM of the soak ends them too instead of
/// leaving a cluster and gateways behind on a shared machine.
final class ChildRegistry: Sendable {
    static let shared = ChildRegistry()
    private let pids = Mutex<Set<Int32>>([])

    func add(_ pid: Int32) { pids.withLock { _ = $0.insert(pid) } }
    func remove(_ pid: Int32) { pids.withLock { _ = $0.remove(pid) } }

    func killAll() {
        for pid in pids.withLock({ $0 }) { kill(pid, SIGKILL) }
    }
}
