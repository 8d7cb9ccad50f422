import Foundation
import Synchronization

/// A process's output as it arrives: the text so far and its complete lines, which can be waited
/// for. Bytes are split at newlines before decoding, so a character cut between two reads stays whole.
public final class LineCollector: Sendable {
    private struct State {
        var lines: [String] = []
        var partial = Data()
        var consumedLines = 0
    }

    private let state = Mutex(State())

    public init() {}

    /// Adds bytes; returns the lines they complete.
    @discardableResult
    func append(_ chunk: Data) -> [String] {
        state.withLock { state in
            state.partial.append(chunk)
            var completed: [String] = []
            while let newline = state.partial.firstIndex(of: UInt8(ascii: "\n")) {
                completed.append(String(decoding: state.partial[state.partial.startIndex..<newline], as: UTF8.self))
                state.partial = Data(state.partial[state.partial.index(after: newline)...])
            }
            state.lines += completed
            return completed
        }
    }

    /// Adds complete lines (of another collector).
    func append(lines: [String]) {
        guard !lines.isEmpty else { return }
        state.withLock { $0.lines += lines }
    }

    /// The complete lines so far.
    public var lines: [String] { state.withLock { $0.lines } }

    /// Everything so far, the unfinished last line included.
    public var text: String {
        state.withLock { state in
            state.lines.map { $0 + "\n" }.joined() + String(decoding: state.partial, as: UTF8.self)
        }
    }

    /// The next complete line not returned before, waiting up to `timeout`.
    public func nextLine(timeout: Duration = .seconds(20)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let line = state.withLock { state -> String? in
                guard state.consumedLines < state.lines.count else { return nil }
                defer { state.consumedLines += 1 }
                return state.lines[state.consumedLines]
            }
            if let line { return line }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw ProcessFailure(message: "no line within \(timeout); output so far: \(text)")
    }

    /// Waits for a line containing `text`; returns it.
    public func waitForLine(containing text: String, timeout: Duration = .seconds(30)) async throws -> String {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = lines.first(where: { $0.contains(text) }) { return line }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw ProcessFailure(message: "no line with \(text) within \(timeout); last lines: \(lines.suffix(20))")
    }
}

/// A child process that did not do what a test waited for.
public struct ProcessFailure: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }

    public init(message: String) { self.message = message }
}
