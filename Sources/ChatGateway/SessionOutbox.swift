import Synchronization

/// Thread-safe wrapper running an ``OutboxStateMachine`` for one session.
final class SessionOutbox: Sendable {
    typealias Waiter = CheckedContinuation<OutboxNextAction, Never>

    private let machine: Mutex<OutboxStateMachine<Waiter>>
    /// Called once, outside the lock, when the queue overflows.
    private let onOverflow: @Sendable () -> Void

    init(limit: Int, onOverflow: @escaping @Sendable () -> Void) {
        self.machine = Mutex(OutboxStateMachine(limit: limit))
        self.onOverflow = onOverflow
    }

    /// Queues a frame; false when the session is closing or just overflowed.
    @discardableResult
    func enqueue(_ frame: String) -> Bool {
        switch machine.withLock({ $0.enqueue(frame) }) {
        case .none:
            return true
        case .resumeWriter(let waiter, let frames):
            waiter.resume(returning: .write(frames))
            return true
        case .overflow(let waiter):
            waiter?.resume(returning: .finish(.tooSlow))
            onOverflow()
            return false
        case .dropped:
            return false
        }
    }

    /// The writer's next batch, waiting while the queue is empty.
    func next() async -> OutboxNextAction {
        await withCheckedContinuation { (continuation: Waiter) in
            let action = machine.withLock { $0.next(waiter: continuation) }
            switch action {
            case .wait: break
            case .write(let frames): continuation.resume(returning: .write(frames))
            case .finish(let reason): continuation.resume(returning: .finish(reason))
            }
        }
    }

    func close(_ reason: SessionCloseReason) {
        if case .resumeWriter(let waiter) = machine.withLock({ $0.close(reason) }) {
            let next = machine.withLock { $0.next(waiter: waiter) }
            switch next {
            case .wait: break
            case .write(let frames): waiter.resume(returning: .write(frames))
            case .finish(let reason): waiter.resume(returning: .finish(reason))
            }
        }
    }

    var isOpen: Bool { machine.withLock { $0.isOpen } }
}
