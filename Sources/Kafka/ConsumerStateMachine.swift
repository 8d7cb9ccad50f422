/// The lifecycle of a consumer as a value: each state carries what is valid in it, and each method
/// returns what the caller must do, so no caller can reach the client once it is gone.
///
/// ``ConsumerCore`` keeps it in a lock and runs the actions: the poll thread owns polling and
/// destruction; Swift tasks queue commands for it, wake it, and borrow the client for calls that
/// must not wait on the poll thread (cached watermarks, synchronous commits). Generic over the
/// client and the close waiter so that it can be tested without librdkafka: it never uses them.
struct ConsumerStateMachine<Client, Waiter> {
    /// Work for the poll thread: runs with the client, or with nil when the consumer closed first.
    typealias Command = @Sendable (Client?) -> Void

    enum State {
        /// Created, before the client exists (librdkafka needs the core as its callback target first).
        case initial
        /// Polling; commands are accepted.
        case running(client: Client, commands: [Command], leases: Int)
        /// Close requested: the poll thread still polls and then closes the consumer; no new commands.
        case closing(client: Client, waiters: [Waiter], leases: Int)
        /// The poll thread closed the consumer; the client waits for its last borrower to return it.
        case draining(client: Client, waiters: [Waiter], leases: Int)
        /// The client is destroyed (or being destroyed by the one who received ``Destroy``).
        case closed
    }

    private(set) var state: State = .initial

    /// What the last user of the client must do: destroy it, then resume the close waiters.
    struct Destroy {
        let client: Client
        let waiters: [Waiter]
    }

    enum SubmitAction {
        /// Wake the poll thread through the client's queue (under the lock: the queue lives while it is held).
        case wake(Client)
        /// The consumer is closing or closed: fail the command.
        case refuse(Command)
    }

    enum CloseRequestAction {
        /// Wake the poll thread (under the lock) and fail the commands it will not run.
        case wake(Client, failing: [Command])
        case none
    }

    enum CloseAction {
        /// Wake the poll thread (under the lock) and fail the commands it will not run.
        case wake(Client, failing: [Command])
        /// Already closed: resume the waiter now.
        case resume(Waiter)
        /// A close is already under way; the waiter is resumed when it ends.
        case wait
    }

    enum PollAction {
        /// Run these commands with the client, then poll.
        case run([Command])
        /// Close requested: stop polling and close the consumer.
        case stop
    }

    /// Makes the client available; the poll thread starts after this.
    mutating func start(_ client: Client) {
        guard case .initial = state else { preconditionFailure("consumer started twice") }
        state = .running(client: client, commands: [], leases: 0)
    }

    /// A Swift task hands a command to the poll thread.
    mutating func submit(_ command: @escaping Command) -> SubmitAction {
        switch state {
        case .running(let client, var commands, let leases):
            commands.append(command)
            state = .running(client: client, commands: commands, leases: leases)
            return .wake(client)
        case .initial, .closing, .draining, .closed:
            return .refuse(command)
        }
    }

    /// The poll thread takes the queued commands at the top of each pass.
    mutating func nextCommands() -> PollAction {
        switch state {
        case .running(let client, let commands, let leases):
            guard !commands.isEmpty else { return .run([]) }
            state = .running(client: client, commands: [], leases: leases)
            return .run(commands)
        case .closing, .draining, .closed:
            return .stop
        case .initial:
            preconditionFailure("consumer polled before it started")
        }
    }

    /// Close without waiting (a fatal error seen by the poll thread).
    mutating func requestClose() -> CloseRequestAction {
        switch state {
        case .running(let client, let commands, let leases):
            state = .closing(client: client, waiters: [], leases: leases)
            return .wake(client, failing: commands)
        case .initial, .closing, .draining, .closed:
            return .none
        }
    }

    /// Close and be resumed once the client is destroyed.
    mutating func close(_ waiter: Waiter) -> CloseAction {
        switch state {
        case .running(let client, let commands, let leases):
            state = .closing(client: client, waiters: [waiter], leases: leases)
            return .wake(client, failing: commands)
        case .closing(let client, var waiters, let leases):
            waiters.append(waiter)
            state = .closing(client: client, waiters: waiters, leases: leases)
            return .wait
        case .draining(let client, var waiters, let leases):
            waiters.append(waiter)
            state = .draining(client: client, waiters: waiters, leases: leases)
            return .wait
        case .initial, .closed:
            return .resume(waiter)
        }
    }

    /// The poll thread has left its loop and closed the consumer: destroy the client unless
    /// someone still borrows it (the last ``returnClient()`` destroys it then).
    mutating func pollLoopFinished() -> (failing: [Command], destroy: Destroy?) {
        switch state {
        case .running(let client, let commands, let leases):
            // The record buffer closed under the poll thread without a close request.
            state = .draining(client: client, waiters: [], leases: leases)
            return (commands, drainIfUnused())
        case .closing(let client, let waiters, let leases):
            state = .draining(client: client, waiters: waiters, leases: leases)
            return ([], drainIfUnused())
        case .initial, .draining, .closed:
            preconditionFailure("poll loop finished twice")
        }
    }

    /// Lends the client for a call made outside the poll thread; nil once it is closed. Every
    /// client lent must be handed back with ``returnClient()``.
    mutating func borrowClient() -> Client? {
        switch state {
        case .running(let client, let commands, let leases):
            state = .running(client: client, commands: commands, leases: leases + 1)
            return client
        case .closing(let client, let waiters, let leases):
            state = .closing(client: client, waiters: waiters, leases: leases + 1)
            return client
        case .initial, .draining, .closed:
            // Draining refuses new borrowers so that the client is destroyed without delay.
            return nil
        }
    }

    /// Hands back a client from ``borrowClient()``; the last one back after the poll thread finished destroys it.
    mutating func returnClient() -> Destroy? {
        switch state {
        case .running(let client, let commands, let leases):
            precondition(leases > 0, "client returned more often than borrowed")
            state = .running(client: client, commands: commands, leases: leases - 1)
            return nil
        case .closing(let client, let waiters, let leases):
            precondition(leases > 0, "client returned more often than borrowed")
            state = .closing(client: client, waiters: waiters, leases: leases - 1)
            return nil
        case .draining(let client, let waiters, let leases):
            precondition(leases > 0, "client returned more often than borrowed")
            state = .draining(client: client, waiters: waiters, leases: leases - 1)
            return drainIfUnused()
        case .initial, .closed:
            preconditionFailure("client returned after the consumer closed")
        }
    }

    private mutating func drainIfUnused() -> Destroy? {
        guard case .draining(let client, let waiters, let leases) = state, leases == 0 else { return nil }
        state = .closed
        return Destroy(client: client, waiters: waiters)
    }
}

extension ConsumerStateMachine.Destroy: Sendable where Client: Sendable, Waiter: Sendable {}
