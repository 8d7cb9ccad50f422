import Synchronization

/// Runs a session's edits and deletes one after another in the order the client sent them, off
/// the session's reading task: each waits for the one before, so two edits of a message land in
/// the log (and in every reader's view) in that order.
final class SerialChanges: Sendable {
    private let tail = Mutex<Task<Void, Never>?>(nil)

    /// Runs `body` after every change submitted before it has finished.
    func submit(_ body: @escaping @Sendable () async -> Void) {
        tail.withLock { tail in
            let previous = tail
            tail = Task {
                await previous?.value
                await body()
            }
        }
    }
}
