import Synchronization

/// Counts a session's requests still being answered (sends waiting for Kafka, history reads),
/// bounds them, and lets shutdown wait for them.
final class InflightRequests: Sendable {
    private struct State {
        var count = 0
        var slotWaiters: [CheckedContinuation<Void, Never>] = []
        var emptyWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiterID = 0
    }

    private let state = Mutex(State())
    let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    /// Takes a slot, waiting while `limit` requests are in flight.
    func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let granted = state.withLock { state in
                if state.count < limit {
                    state.count += 1
                    return true
                }
                state.slotWaiters.append(continuation)
                return false
            }
            if granted { continuation.resume() }
        }
    }

    func release() {
        let (next, empty) = state.withLock { state -> (CheckedContinuation<Void, Never>?, [CheckedContinuation<Void, Never>]) in
            if !state.slotWaiters.isEmpty {
                return (state.slotWaiters.removeFirst(), [])
            }
            state.count -= 1
            guard state.count == 0 else { return (nil, []) }
            defer { state.emptyWaiters.removeAll() }
            return (nil, Array(state.emptyWaiters.values))
        }
        next?.resume()
        for waiter in empty { waiter.resume() }
    }

    /// Returns when nothing is in flight, or after `timeout`.
    func waitUntilEmpty(timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.waitUntilEmpty() }
            group.addTask { try? await Task.sleep(for: timeout) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitUntilEmpty() async {
        let id = state.withLock { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let empty = state.withLock { state in
                    if state.count == 0 || Task.isCancelled { return true }
                    state.emptyWaiters[id] = continuation
                    return false
                }
                if empty { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.emptyWaiters.removeValue(forKey: id) }?.resume()
        }
    }
}
