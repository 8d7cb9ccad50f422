/// The bounded outbound queue of one session, as a state machine that returns what to do.
///
/// Producers (the fan-out, request handlers) enqueue frames without waiting; one writer takes
/// them in batches. A queue that reaches its limit in bytes means the client is not reading fast
/// enough: the session is closed as too slow instead of slowing anyone else down. Counting bytes
/// rather than frames bounds what a session holds whatever its frames' sizes (a `history` reply
/// counts as its whole size); one frame always fits into an empty queue, so a reply larger than
/// the limit is still delivered to a client that reads.
struct OutboxStateMachine<Waiter> {
    typealias CloseReason = SessionCloseReason
    typealias NextAction = OutboxNextAction

    private enum State {
        case open(frames: [String], waiter: Waiter?)
        case closing(frames: [String], reason: CloseReason, waiter: Waiter?)
        case closed
    }

    private var state: State = .open(frames: [], waiter: nil)
    /// Bytes (UTF-8) of the frames queued and not yet taken by the writer.
    private(set) var queuedBytes = 0
    /// Largest `queuedBytes` before the session is closed as too slow.
    let limit: Int

    init(limit: Int) {
        self.limit = limit
    }

    enum EnqueueAction {
        case none
        /// Hand these frames to the waiting writer.
        case resumeWriter(Waiter, [String])
        /// The queue overflowed: close the session as too slow. The writer, if waiting, ends.
        case overflow(Waiter?)
        /// The session is closing or closed; the frame is dropped.
        case dropped
    }

    mutating func enqueue(_ frame: String) -> EnqueueAction {
        switch state {
        case .open(var frames, let waiter):
            if let waiter {
                state = .open(frames: [], waiter: nil)
                return .resumeWriter(waiter, [frame])
            }
            let size = frame.utf8.count
            guard frames.isEmpty || queuedBytes + size <= limit else {
                state = .closed
                queuedBytes = 0
                return .overflow(nil)
            }
            queuedBytes += size
            frames.append(frame)
            state = .open(frames: frames, waiter: nil)
            return .none
        case .closing, .closed:
            return .dropped
        }
    }

    /// The writer asks for frames; on `.wait` it must be resumed later with the waiter it gave.
    mutating func next(waiter: Waiter) -> NextAction {
        switch state {
        case .open(let frames, _):
            if frames.isEmpty {
                state = .open(frames: [], waiter: waiter)
                return .wait
            }
            state = .open(frames: [], waiter: nil)
            queuedBytes = 0
            return .write(frames)
        case .closing(let frames, let reason, _):
            if frames.isEmpty {
                state = .closed
                return .finish(reason)
            }
            state = .closing(frames: [], reason: reason, waiter: nil)
            queuedBytes = 0
            return .write(frames)
        case .closed:
            return .finish(nil)
        }
    }

    enum CloseAction {
        case none
        /// Wake the waiting writer so it writes what is left and closes.
        case resumeWriter(Waiter)
    }

    /// Closes after the frames already queued are written (`goingAway`, `rateLimited`), or at once.
    mutating func close(_ reason: CloseReason) -> CloseAction {
        switch state {
        case .open(let frames, let waiter):
            if reason == .connectionEnded || reason == .tooSlow {
                state = .closed
                queuedBytes = 0
            } else {
                state = .closing(frames: frames, reason: reason, waiter: nil)
            }
            return waiter.map { .resumeWriter($0) } ?? .none
        case .closing(let frames, _, let waiter):
            if reason == .connectionEnded || reason == .tooSlow {
                state = .closed
                queuedBytes = 0
            } else {
                state = .closing(frames: frames, reason: reason, waiter: nil)
            }
            return waiter.map { .resumeWriter($0) } ?? .none
        case .closed:
            return .none
        }
    }

    var isOpen: Bool {
        if case .open = state { return true }
        return false
    }
}

/// Why a session's outbound side ends.
enum SessionCloseReason: Equatable, Sendable {
    /// The server is going away (1001).
    case goingAway
    /// The client could not keep up (4008).
    case tooSlow
    /// Too many rate-limited requests (4029).
    case rateLimited
    /// The token's `exp` passed without a fresh `auth` (4001).
    case tokenExpired
    /// The client closed or the connection failed: nothing more is written.
    case connectionEnded
}

/// What the session's writer does next.
enum OutboxNextAction: Sendable {
    case write([String])
    case wait
    /// Write nothing more; close the connection with this reason (`nil`: just stop).
    case finish(SessionCloseReason?)
}
