import Synchronization

/// A value that is set once and awaited by any number of tasks: a server's bound port, whether a
/// WebSocket upgrade succeeded.
///
/// The first `resolve` wins; later ones are ignored, so racing outcomes (a handler that started
/// and a connection that failed) settle on whichever came first.
public final class OneShot<Value: Sendable>: Sendable {
    private struct State {
        var value: Value?
        var waiters: [CheckedContinuation<Value, Never>] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// Sets the value and wakes every waiter, unless a value was set before.
    public func resolve(_ value: Value) {
        let waiters = state.withLock { state -> [CheckedContinuation<Value, Never>] in
            guard state.value == nil else { return [] }
            state.value = value
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume(returning: value) }
    }

    /// The value, waiting until it is set.
    public func value() async -> Value {
        await withCheckedContinuation { continuation in
            let known = state.withLock { state -> Value? in
                if let value = state.value { return value }
                state.waiters.append(continuation)
                return nil
            }
            if let known { continuation.resume(returning: known) }
        }
    }
}
