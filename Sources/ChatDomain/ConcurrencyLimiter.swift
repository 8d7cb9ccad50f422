import Synchronization

/// A bounded line for expensive work (history reads, join catch-ups): at most `maxRunning` at
/// once, at most `maxWaiting` more waiting in order; beyond that the work is refused at once, so
/// a flood of requests holds neither tasks nor memory without bound.
public final class ConcurrencyLimiter: Sendable {
    private struct State {
        var running = 0
        var waiters: [CheckedContinuation<Bool, Never>] = []
    }

    public let maxRunning: Int
    public let maxWaiting: Int
    private let state = Mutex(State())

    public init(maxRunning: Int, maxWaiting: Int) {
        self.maxRunning = max(1, maxRunning)
        self.maxWaiting = max(0, maxWaiting)
    }

    /// Waits for a slot; false, at once, when the line is full. A true answer must be followed by
    /// one ``release()``.
    public func acquire() async -> Bool {
        // Decided and queued under one lock so that a release in between cannot be missed.
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let answer = state.withLock { state -> Bool? in
                if state.running < maxRunning {
                    state.running += 1
                    return true
                }
                guard state.waiters.count < maxWaiting else { return false }
                state.waiters.append(continuation)
                return nil
            }
            if let answer { continuation.resume(returning: answer) }
        }
    }

    /// Hands the slot to the next waiter, or frees it.
    public func release() {
        let next = state.withLock { state -> CheckedContinuation<Bool, Never>? in
            guard !state.waiters.isEmpty else {
                state.running -= 1
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.resume(returning: true)
    }

    /// Runs `work` in a slot; `nil` when the line is full.
    public func run<Value>(_ work: () async throws -> Value) async rethrows -> Value? {
        guard await acquire() else { return nil }
        defer { release() }
        return try await work()
    }

    /// Work running and waiting now.
    public var load: (running: Int, waiting: Int) {
        state.withLock { ($0.running, $0.waiters.count) }
    }
}
