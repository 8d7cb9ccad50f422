import Foundation

/// A program run as a child process by an end-to-end test (usually a binary of this package:
/// `chatd`, `chatctl`), with its stdout and stderr collected line by line, separately and together.
public final class ChildProcess: @unchecked Sendable {
    // Process is not Sendable; `process` and `input` are set once in init and then only read.
    private let process = Process()
    private let input = Pipe()
    /// What the program wrote to stdout.
    public let stdout = LineCollector()
    /// What the program wrote to stderr.
    public let stderr = LineCollector()
    /// The complete lines of both, in the order they were read.
    public let output = LineCollector()
    public let name: String

    /// Where this package's binaries are: CHAT_BIN_DIR, else `.build/debug`, else `.build/release`.
    public static func builtBinary(_ name: String) throws -> String {
        if let directory = ProcessInfo.processInfo.environment["CHAT_BIN_DIR"] {
            return URL(fileURLWithPath: directory).appendingPathComponent(name).path
        }
        for configuration in ["debug", "release"] {
            let path = packageRoot.appendingPathComponent(".build/\(configuration)/\(name)").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw ProcessFailure(message: "no built \(name) under .build: run `swift build --build-tests` (or set CHAT_BIN_DIR)")
    }

    /// The package's root directory, from this file's path (Tests/ChatTestSupport/ChildProcess.swift).
    public static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// Starts `executable`: a path, or (without a slash) the name of a binary of this package.
    public init(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        name = (executable as NSString).lastPathComponent
        process.executableURL = URL(fileURLWithPath: executable.contains("/") ? executable : try Self.builtBinary(executable))
        process.arguments = arguments
        if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new } }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        for (handle, collector) in [(out.fileHandleForReading, stdout), (err.fileHandleForReading, stderr)] {
            let output = self.output
            // Blocking reads on a thread of its own until end of file: a dispatch readability
            // handler raced with the process's termination handler in corelibs Foundation and
            // crashed libdispatch (`_dispatch_event_loop_drain`) while a test stopped its chatd.
            Thread.detachNewThread {
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { return }
                    output.append(lines: collector.append(chunk))
                }
            }
        }
    }

    /// Waits for an output line (stdout or stderr) containing `text`; returns it.
    public func waitForLine(containing text: String, timeout: Duration = .seconds(30)) async throws -> String {
        do {
            return try await output.waitForLine(containing: text, timeout: timeout)
        } catch {
            throw ProcessFailure(message: "\(name): \(error)")
        }
    }

    /// Everything the process wrote so far (complete lines of stdout and stderr).
    public var outputText: String { output.lines.joined(separator: "\n") }

    /// Output lines containing any of `texts`, at most `limit` of them.
    public func lines(containing texts: [String], limit: Int) -> [String] {
        Array(output.lines.filter { line in texts.contains { line.contains($0) } }.prefix(limit))
    }

    public var processIdentifier: Int32 { process.processIdentifier }

    public var isRunning: Bool { process.isRunning }

    /// Resident set size in KiB (`VmRSS` of /proc/<pid>/status); nil once the process is gone.
    public var residentKiB: Int? {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
        else { return nil }
        return Int(line.split(whereSeparator: { $0 == " " || $0 == "\t" }).dropFirst().first ?? "")
    }

    /// Writes a line to the program's stdin.
    public func send(_ line: String) {
        input.fileHandleForWriting.write(Data((line + "\n").utf8))
    }

    public func kill(_ signal: Int32 = SIGKILL) {
        Foundation.kill(process.processIdentifier, signal)
    }

    public func terminate() { if process.isRunning { process.terminate() } }

    /// Waits for the process to exit on its own; its exit status, or `nil` if it still runs.
    public func exitStatus(timeout: Duration = .seconds(30)) async -> Int32? {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while ContinuousClock.now < deadline {
            if !process.isRunning {
                // Let the readers drain what the program wrote last.
                try? await Task.sleep(for: .milliseconds(50))
                return process.terminationStatus
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return nil
    }

    /// Waits for the exit; after `timeout` the process is killed and the status is -1.
    public func wait(timeout: Duration) async -> Int32 {
        if let status = await exitStatus(timeout: timeout) { return status }
        kill(SIGKILL)
        while process.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
        return -1
    }

    /// Sends SIGTERM and waits for the process to exit (SIGKILL after 15 s).
    public func stop() {
        guard process.isRunning else { return }
        kill(SIGTERM)
        let deadline = Date().addingTimeInterval(15)
        while process.isRunning, Date() < deadline { usleep(10_000) }
        if process.isRunning {
            kill(SIGKILL)
            while process.isRunning { usleep(10_000) }
        }
    }
}

/// The outcome of a finished process.
public struct ProcessResult: Sendable {
    public var status: Int32
    public var stdout: String
    public var stderr: String
    public var duration: Duration
}

/// Runs a program to its end, killing it after `timeout`.
public func runProcess(_ executable: String, _ arguments: [String], timeout: Duration = .seconds(60), environment: [String: String]? = nil)
    async throws -> ProcessResult
{
    let child = try ChildProcess(executable, arguments, environment: environment)
    let started = ContinuousClock.now
    let status = await child.wait(timeout: timeout)
    return ProcessResult(status: status, stdout: child.stdout.text, stderr: child.stderr.text, duration: ContinuousClock.now - started)
}
