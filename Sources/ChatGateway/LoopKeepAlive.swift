import Foundation
import NIOCore
import Synchronization

/// The sessions of one event loop and the loop's one keep-alive timer: pings, dead-client checks
/// and token expiry for all of them, so an idle session owns no timer. It also coalesces the
/// fan-out's flushes: each connection is flushed once per pass of the loop over what is queued.
///
/// Confined to its event loop.
final class LoopKeepAlive {
    private var sessions: [ObjectIdentifier: ChatSessionHandler] = [:]
    private let interval: TimeAmount
    private let eventLoop: any EventLoop
    private var flushes: [ChatSessionHandler] = []
    private var flushScheduled = false

    init(interval: TimeAmount, eventLoop: any EventLoop) {
        self.interval = interval
        self.eventLoop = eventLoop
    }

    /// Flushes `session` after the tasks already queued on the loop: batches of the fan-out that
    /// queued up while the loop was busy then share one flush (one `write` system call) per
    /// connection, and a lone batch is flushed at once.
    func flushSoon(_ session: ChatSessionHandler) {
        flushes.append(session)
        guard !flushScheduled else { return }
        flushScheduled = true
        eventLoop.assumeIsolated().execute { self.flushAll() }
    }

    private func flushAll() {
        flushScheduled = false
        let due = flushes
        flushes.removeAll(keepingCapacity: true)
        for session in due { session.flushNow() }
    }

    func add(_ session: ChatSessionHandler) {
        sessions[ObjectIdentifier(session)] = session
    }

    func remove(_ session: ChatSessionHandler) {
        sessions[ObjectIdentifier(session)] = nil
    }

    var count: Int { sessions.count }

    func tick() {
        let now = NIODeadline.now()
        let wallClock = Date()
        // A session may close (and leave `sessions`) during its tick: iterate a snapshot.
        for session in Array(sessions.values) {
            session.keepAlive(now: now, wallClock: wallClock, interval: interval)
        }
    }
}

/// A node's keep-alive timers, one per event loop that has sessions.
final class KeepAliveTimers: Sendable {
    private struct Timer {
        let keepAlive: NIOLoopBound<LoopKeepAlive>
        let task: RepeatedTask
    }

    private let timers = Mutex<[ObjectIdentifier: Timer]>([:])
    private let pingInterval: TimeAmount
    /// How often the timer runs: often enough that an expired token ends its session within it.
    private let tickInterval: TimeAmount

    init(pingInterval: Duration) {
        self.pingInterval = .nanoseconds(max(1_000_000, pingInterval.wholeNanoseconds))
        self.tickInterval = .nanoseconds(min(self.pingInterval.nanoseconds, 1_000_000_000))
    }

    /// The keep-alive of `loop`, started on first use. Call on `loop`.
    func timer(for loop: any EventLoop) -> LoopKeepAlive {
        loop.preconditionInEventLoop()
        return timers.withLock { timers in
            if let timer = timers[ObjectIdentifier(loop)] { return timer.keepAlive.value }
            let keepAlive = LoopKeepAlive(interval: pingInterval, eventLoop: loop)
            let bound = NIOLoopBound(keepAlive, eventLoop: loop)
            let task = loop.scheduleRepeatedTask(initialDelay: tickInterval, delay: tickInterval) { _ in bound.value.tick() }
            timers[ObjectIdentifier(loop)] = Timer(keepAlive: bound, task: task)
            return keepAlive
        }
    }

    /// Stops every timer (the node shut down).
    func stop() {
        let stopped = timers.withLock { timers in
            defer { timers.removeAll() }
            return Array(timers.values)
        }
        for timer in stopped { timer.task.cancel() }
    }
}
