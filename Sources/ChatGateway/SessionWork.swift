import ChatDomain
import Synchronization

/// A session's requests and lifecycle steps, run one after another in arrival order by a task
/// that exists only while there is work: an idle session has none.
final class SessionWork: Sendable {
    enum Item: Sendable {
        /// The session registered: tell presence before any request runs.
        case opened
        case request(ClientFrame)
        /// Finish what is in flight, then close with the reason's code.
        case finish(SessionCloseReason)
        /// The connection is gone: leave every room and go offline.
        case ended
        /// The fan-out ended the session's subscription to a room (its user was removed from it).
        case removed(RoomName)
    }

    private struct State {
        var items: [Item] = []
        var head = 0
        var running = false
        /// False once the session finishes or ends: later requests are dropped.
        var accepting = true
        /// Reading from the connection was paused because too many requests were waiting.
        var readingPaused = false
        var pending: Int { items.count - head }
    }

    /// What ``submit(_:)`` asks of the caller.
    enum Submission {
        case queued
        /// Queued, and the queue is full: pause reading until ``resumeReading`` is called.
        case queuedPauseReading
        /// Start a runner for the queue.
        case startRunner
        /// The session no longer takes requests.
        case dropped
    }

    private let state = Mutex(State())
    /// Requests waiting past which the connection stops being read (TCP pushes back on the client).
    let maxPending: Int

    init(maxPending: Int) {
        self.maxPending = maxPending
    }

    /// Queues an item; a `finish` or `ended` closes the queue to later requests.
    func submit(_ item: Item) -> Submission {
        state.withLock { state in
            switch item {
            case .request, .opened, .removed:
                guard state.accepting else { return .dropped }
            case .finish:
                guard state.accepting else { return .dropped }
                state.accepting = false
            case .ended:
                state.accepting = false
            }
            state.items.append(item)
            if !state.running {
                state.running = true
                return .startRunner
            }
            if state.pending >= maxPending, !state.readingPaused {
                state.readingPaused = true
                return .queuedPauseReading
            }
            return .queued
        }
    }

    /// Whether the session still takes requests.
    var isAccepting: Bool { state.withLock { $0.accepting } }

    /// The next item for the runner, or `nil` (and the runner stops) when the queue is empty.
    /// `resumeReading` is true when reading was paused and the queue has drained.
    func next() -> (item: Item?, resumeReading: Bool) {
        state.withLock { state in
            guard state.pending > 0 else {
                state.running = false
                state.items.removeAll()
                state.head = 0
                defer { state.readingPaused = false }
                return (nil, state.readingPaused)
            }
            let item = state.items[state.head]
            state.head += 1
            if state.head > 64, state.head * 2 > state.items.count {
                state.items.removeFirst(state.head)
                state.head = 0
            }
            return (item, false)
        }
    }
}
