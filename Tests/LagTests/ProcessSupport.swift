import Foundation
import Synchronization
import Testing

/// The repository root, from this file's path.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The `chatctl` that `swift build` built (CHATCTL overrides).
func chatctlPath() throws -> String {
    if let path = ProcessInfo.processInfo.environment["CHATCTL"] { return path }
    for configuration in ["debug", "release"] {
        let path = repositoryRoot.appendingPathComponent(".build/\(configuration)/chatctl").path
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    throw ProcessFailure(message: "no built chatctl under .build: run `swift build --build-tests` (or set CHATCTL)")
}

struct ProcessFailure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

/// The outcome of a finished process.
struct ProcessResult {
    var status: Int32
    var stdout: String
    var stderr: String
    var duration: Duration
}

/// Runs a program to its end, killing it after `timeout`.
func runProcess(_ path: String, _ arguments: [String], timeout: Duration = .seconds(60), environment: [String: String]? = nil) async throws
    -> ProcessResult
{
    let child = try ChildProcess(path, arguments, environment: environment)
    let started = ContinuousClock.now
    let status = await child.wait(timeout: timeout)
    return ProcessResult(status: status, stdout: child.stdout.text, stderr: child.stderr.text, duration: ContinuousClock.now - started)
}

/// A running program with its stdout and stderr collected line by line.
final class ChildProcess: @unchecked Sendable {
    private let process = Process()
    private let input = Pipe()
    let stdout = LineCollector()
    let stderr = LineCollector()

    init(_ path: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let environment { process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new } }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        stdout.attach(out.fileHandleForReading)
        stderr.attach(err.fileHandleForReading)
        try process.run()
    }

    /// Writes a line to the program's stdin.
    func send(_ line: String) {
        input.fileHandleForWriting.write(Data((line + "\n").utf8))
    }

    var isRunning: Bool { process.isRunning }

    func terminate() { if process.isRunning { process.terminate() } }

    /// Waits for the exit; after `timeout` the process is killed and the status is -1.
    func wait(timeout: Duration) async -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline {
                kill(process.processIdentifier, SIGKILL)
                while process.isRunning { try? await Task.sleep(for: .milliseconds(10)) }
                return -1
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        // Let the readers drain what the program wrote last.
        try? await Task.sleep(for: .milliseconds(50))
        return process.terminationStatus
    }
}

/// Collects a pipe's output and hands out complete lines.
final class LineCollector: Sendable {
    private let state = Mutex<(data: Data, consumedLines: Int)>((Data(), 0))

    /// Reads `handle` until end of file with blocking reads on a thread of its own: a dispatch
    /// readability handler races with the process's termination handler in corelibs Foundation
    /// and has crashed libdispatch.
    func attach(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { return }
                state.withLock { $0.data.append(chunk) }
            }
        }
    }

    var text: String { state.withLock { String(decoding: $0.data, as: UTF8.self) } }

    /// The next complete line not returned before, waiting up to `timeout`.
    func nextLine(timeout: Duration = .seconds(20)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let line = state.withLock { state -> String? in
                let lines = String(decoding: state.data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
                guard lines.count - 1 > state.consumedLines else { return nil }
                defer { state.consumedLines += 1 }
                return String(lines[state.consumedLines])
            }
            if let line { return line }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw ProcessFailure(message: "no line within \(timeout); output so far: \(text)")
    }
}

/// `chatctl kafka` as a process of its own.
final class EmbeddedKafkaProcess: Sendable {
    let child: ChildProcess
    let bootstrap: String

    private init(child: ChildProcess, bootstrap: String) {
        self.child = child
        self.bootstrap = bootstrap
    }

    static func start(_ arguments: [String] = []) async throws -> EmbeddedKafkaProcess {
        let child = try ChildProcess(try chatctlPath(), ["kafka"] + arguments)
        do {
            let bootstrap = try await child.stdout.nextLine()
            return EmbeddedKafkaProcess(child: child, bootstrap: bootstrap)
        } catch {
            child.terminate()
            throw error
        }
    }

    /// Sends a stdin command and returns its answer ("ok" or "error: ...").
    func command(_ line: String) async throws -> String {
        child.send(line)
        return try await child.stdout.nextLine()
    }

    func stop() async {
        child.terminate()
        _ = await child.wait(timeout: .seconds(10))
    }

    static func with<Result>(_ arguments: [String] = [], _ body: (EmbeddedKafkaProcess) async throws -> Result) async throws -> Result {
        let kafka = try await start(arguments)
        do {
            let result = try await body(kafka)
            await kafka.stop()
            return result
        } catch {
            await kafka.stop()
            throw error
        }
    }
}
