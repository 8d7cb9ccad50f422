/// The lifecycle of a producer as a value: each state carries what is valid in it, and each method
/// returns what the caller must do, so no caller can reach the client once it is gone.
///
/// ``ProducerCore`` keeps it in a lock and runs the actions. Besides the lifecycle it keeps the
/// deliveries awaiting their reports, which the poll thread resolves in every state until it
/// destroys the client. Generic over the client and the close waiter so that it can be tested
/// without librdkafka: it never uses them.
struct ProducerStateMachine<Client, Waiter> {
    /// A `send([...])` batch waiting for, or in, the poll thread's produce loop.
    struct BatchJob {
        let records: [KafkaProducerRecord]
        let number: UInt64
        let batch: DeliveryBatch
        /// Index of the first record not handed to librdkafka yet.
        var next = 0
    }

    enum State {
        /// Created, before the client exists (librdkafka needs the core as its callback target first).
        case initial
        /// Producing; `jobs` are the batches submitted and not yet taken by the poll thread, oldest first.
        case running(client: Client, jobs: [BatchJob], leases: Int)
        /// Close requested: nothing new is accepted; the poll thread fails `unsent`, flushes, and
        /// serves the last delivery reports. `flushTimeout` is the latest close's.
        case closing(client: Client, unsent: [BatchJob], flushTimeout: Duration, waiters: [Waiter], leases: Int)
        /// The poll thread is done with the client; it waits for its last borrower to return it.
        case draining(client: Client, waiters: [Waiter], leases: Int)
        /// The client is destroyed (or being destroyed by the one who received ``Destroy``).
        case closed
        /// Only while a method changes the state: keeps the payload's arrays uniquely referenced.
        case modifying
    }

    private(set) var state: State = .initial
    private(set) var nextID: UInt64 = 1
    /// Records produced one at a time, by opaque id, until their report (or the close) resolves them.
    private(set) var pending: [UInt64: KafkaDelivery] = [:]
    private(set) var nextBatch: UInt64 = 1
    /// Batches with records still awaiting their reports, by number.
    private(set) var batches: [UInt64: DeliveryBatch] = [:]

    /// What the last user of the client must do: destroy it, then resume the close waiters.
    struct Destroy {
        let client: Client
        let waiters: [Waiter]
    }

    enum ProduceAction {
        /// Hand the record to librdkafka with this opaque id, on the calling thread.
        case enqueue(Client, id: UInt64)
        /// The producer is closing or closed: fail the delivery.
        case refuse
    }

    enum CloseAction {
        /// Wake the poll thread (under the lock: the queue lives while it is held).
        case wake(Client)
        /// Already closed: resume the waiter now.
        case resume(Waiter)
        /// A close is already under way; the waiter is resumed when it ends.
        case wait
    }

    enum PollAction {
        /// Produce this newly taken batch (nil: none) and poll.
        case produce(BatchJob?)
        /// Close requested: fail the unsent batches, flush for up to the timeout, finish.
        case stop(unsent: [BatchJob], flushTimeout: Duration)
    }

    /// Makes the client available; the poll thread starts after this.
    mutating func start(_ client: Client) {
        guard case .initial = state else { preconditionFailure("producer started twice") }
        state = .running(client: client, jobs: [], leases: 0)
    }

    /// A task produces one record: registers its delivery under a new id.
    mutating func produce(_ delivery: KafkaDelivery) -> ProduceAction {
        guard case .running(let client, _, _) = state else { return .refuse }
        let id = nextID
        nextID += 1
        pending[id] = delivery
        return .enqueue(client, id: id)
    }

    /// The delivery of a record librdkafka refused at once, taken back.
    mutating func removeDelivery(_ id: UInt64) -> KafkaDelivery? {
        pending.removeValue(forKey: id)
    }

    /// The deliveries of these reports, resolved now (nil for an id already resolved).
    mutating func takeDeliveries<Reports: Sequence<UInt64>>(_ ids: Reports) -> [KafkaDelivery?] {
        ids.map { pending.removeValue(forKey: $0) }
    }

    /// A task submits a batch for the poll thread; returns the client whose queue to wake (under
    /// the lock), or nil when the producer is closing or closed.
    mutating func submit(_ records: [KafkaProducerRecord], _ batch: DeliveryBatch) -> Client? {
        guard case .running(let client, var jobs, let leases) = state else { return nil }
        state = .modifying
        let number = nextBatch
        nextBatch += 1
        batches[number] = batch
        jobs.append(BatchJob(records: records, number: number, batch: batch))
        state = .running(client: client, jobs: jobs, leases: leases)
        return client
    }

    func batch(_ number: UInt64) -> DeliveryBatch? { batches[number] }

    /// A batch all of whose records are resolved.
    mutating func removeBatch(_ number: UInt64) {
        batches.removeValue(forKey: number)
    }

    /// The poll thread, at the top of each pass; `holding` says it still has a batch of its own in hand.
    mutating func nextJob(holding: Bool) -> PollAction {
        switch state {
        case .running(let client, var jobs, let leases):
            guard !holding, !jobs.isEmpty else { return .produce(nil) }
            state = .modifying
            let job = jobs.removeFirst()
            state = .running(client: client, jobs: jobs, leases: leases)
            return .produce(job)
        case .closing(let client, let unsent, let flushTimeout, let waiters, let leases):
            state = .closing(client: client, unsent: [], flushTimeout: flushTimeout, waiters: waiters, leases: leases)
            return .stop(unsent: unsent, flushTimeout: flushTimeout)
        case .initial, .draining, .closed, .modifying:
            preconditionFailure("producer polled in state \(state)")
        }
    }

    /// Close: nothing new is accepted; resumed once the client is destroyed.
    mutating func close(_ waiter: Waiter, flushTimeout: Duration) -> CloseAction {
        switch state {
        case .running(let client, let jobs, let leases):
            state = .closing(client: client, unsent: jobs, flushTimeout: flushTimeout, waiters: [waiter], leases: leases)
            return .wake(client)
        case .closing(let client, let unsent, _, var waiters, let leases):
            waiters.append(waiter)
            state = .closing(client: client, unsent: unsent, flushTimeout: flushTimeout, waiters: waiters, leases: leases)
            return .wait
        case .draining(let client, var waiters, let leases):
            waiters.append(waiter)
            state = .draining(client: client, waiters: waiters, leases: leases)
            return .wait
        case .initial, .closed:
            return .resume(waiter)
        case .modifying:
            preconditionFailure("producer closed while modifying")
        }
    }

    /// The poll thread flushed: takes what is still unresolved (to fail) and destroys the client
    /// unless someone still borrows it (the last ``returnClient()`` destroys it then).
    mutating func pollLoopFinished() -> (deliveries: [KafkaDelivery], batches: [DeliveryBatch], destroy: Destroy?) {
        guard case .closing(let client, _, _, let waiters, let leases) = state else {
            preconditionFailure("poll loop finished in state \(state)")
        }
        state = .draining(client: client, waiters: waiters, leases: leases)
        let unresolved = (Array(pending.values), Array(batches.values))
        pending.removeAll()
        batches.removeAll()
        return (unresolved.0, unresolved.1, drainIfUnused())
    }

    /// Lends the client for a call made outside the poll thread (metadata); nil once the poll
    /// thread is done with it. Every client lent must be handed back with ``returnClient()``.
    mutating func borrowClient() -> Client? {
        switch state {
        case .running(let client, let jobs, let leases):
            state = .modifying
            state = .running(client: client, jobs: jobs, leases: leases + 1)
            return client
        case .closing(let client, let unsent, let flushTimeout, let waiters, let leases):
            state = .closing(client: client, unsent: unsent, flushTimeout: flushTimeout, waiters: waiters, leases: leases + 1)
            return client
        case .initial, .draining, .closed, .modifying:
            return nil
        }
    }

    /// Hands back a client from ``borrowClient()``; the last one back after the poll thread finished destroys it.
    mutating func returnClient() -> Destroy? {
        switch state {
        case .running(let client, let jobs, let leases):
            precondition(leases > 0, "client returned more often than borrowed")
            state = .modifying
            state = .running(client: client, jobs: jobs, leases: leases - 1)
            return nil
        case .closing(let client, let unsent, let flushTimeout, let waiters, let leases):
            precondition(leases > 0, "client returned more often than borrowed")
            state = .closing(client: client, unsent: unsent, flushTimeout: flushTimeout, waiters: waiters, leases: leases - 1)
            return nil
        case .draining(let client, let waiters, let leases):
            precondition(leases > 0, "client returned more often than borrowed")
            state = .draining(client: client, waiters: waiters, leases: leases - 1)
            return drainIfUnused()
        case .initial, .closed, .modifying:
            preconditionFailure("client returned in state \(state)")
        }
    }

    private mutating func drainIfUnused() -> Destroy? {
        guard case .draining(let client, let waiters, let leases) = state, leases == 0 else { return nil }
        state = .closed
        return Destroy(client: client, waiters: waiters)
    }
}

extension ProducerStateMachine.Destroy: Sendable where Client: Sendable, Waiter: Sendable {}
