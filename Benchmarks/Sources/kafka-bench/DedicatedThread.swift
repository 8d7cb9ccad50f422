import Foundation

/// Runs work that blocks (the C baseline, which loops and joins threads of its own) on a thread
/// created for it, so the cooperative thread pool stays free for the Swift side and the wrapper.
enum DedicatedThread {
    static func run<Result: Sendable>(_ name: String, _ body: @escaping @Sendable () -> Result) async -> Result {
        await withCheckedContinuation { continuation in
            let thread = Thread { continuation.resume(returning: body()) }
            thread.name = name
            thread.start()
        }
    }
}

/// Human progress goes to stderr; stdout carries only the JSON report.
func progress(_ line: String) {
    FileHandle.standardError.write(Data("kafka-bench: \(line)\n".utf8))
}
