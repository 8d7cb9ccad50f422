import Testing

@testable import Kafka

/// Stands in for the librdkafka client: the machine only carries it, so no librdkafka is needed.
struct FakeClient: Sendable, Equatable {
    let id: Int
}

/// Records which client each command ran with (nil: failed because the consumer closed).
final class CommandLog: Sendable {
    private let runs = Locked<[FakeClient?]>([])

    func command() -> ConsumerStateMachine<FakeClient, Int>.Command {
        { client in self.runs.withLock { $0.append(client) } }
    }

    var entries: [FakeClient?] { runs.withLock { $0 } }
}

@Suite("Consumer state machine")
struct ConsumerStateMachineTests {
    typealias Machine = ConsumerStateMachine<FakeClient, Int>
    let client = FakeClient(id: 7)

    func started() -> Machine {
        var machine = Machine()
        machine.start(client)
        return machine
    }

    @Test("Before start nothing is accepted and a close returns at once")
    func initial() {
        var machine = Machine()
        let log = CommandLog()
        guard case .refuse = machine.submit(log.command()) else {
            Issue.record("command accepted before start")
            return
        }
        #expect(machine.borrowClient() == nil)
        guard case .resume(1) = machine.close(1) else {
            Issue.record("close before start waits")
            return
        }
        guard case .none = machine.requestClose() else {
            Issue.record("close request before start wakes")
            return
        }
    }

    @Test("Commands submitted while running wake the poll thread with the client and are taken once, in order")
    func pollRunsCommands() {
        var machine = started()
        let log = CommandLog()
        guard case .run(let none) = machine.nextCommands(), none.isEmpty else {
            Issue.record("commands before any submit")
            return
        }
        for _ in 0..<3 {
            guard case .wake(let woken) = machine.submit(log.command()) else {
                Issue.record("command refused while running")
                return
            }
            #expect(woken == client)
        }
        guard case .run(let commands) = machine.nextCommands() else {
            Issue.record("running machine stops")
            return
        }
        #expect(commands.count == 3)
        for command in commands { command(client) }
        #expect(log.entries == [client, client, client])
        guard case .run(let again) = machine.nextCommands(), again.isEmpty else {
            Issue.record("commands taken twice")
            return
        }
    }

    @Test("A close requested while commands wait fails them, wakes the poll thread and stops it at its next pass")
    func closeWhilePolling() {
        var machine = started()
        let log = CommandLog()
        _ = machine.submit(log.command())
        _ = machine.submit(log.command())
        guard case .wake(let woken, let failing) = machine.close(1) else {
            Issue.record("close of a running consumer does not wake")
            return
        }
        #expect(woken == client)
        #expect(failing.count == 2)
        guard case .stop = machine.nextCommands() else {
            Issue.record("poll thread not stopped by close")
            return
        }
        guard case .refuse = machine.submit(log.command()) else {
            Issue.record("command accepted while closing")
            return
        }
        let (more, destroy) = machine.pollLoopFinished()
        #expect(more.isEmpty)
        #expect(destroy?.client == client)
        #expect(destroy?.waiters == [1])
        guard case .closed = machine.state else {
            Issue.record("not closed after the poll loop finished")
            return
        }
    }

    @Test("A second close while the first is under way waits for the same destruction; a close after it returns at once")
    func closeAfterClose() {
        var machine = started()
        guard case .wake = machine.close(1) else {
            Issue.record("first close does not wake")
            return
        }
        guard case .wait = machine.close(2) else {
            Issue.record("second close does not wait")
            return
        }
        guard case .none = machine.requestClose() else {
            Issue.record("close request while closing wakes again")
            return
        }
        let (_, destroy) = machine.pollLoopFinished()
        #expect(destroy?.waiters == [1, 2])
        guard case .resume(3) = machine.close(3) else {
            Issue.record("close after close waits")
            return
        }
    }

    @Test("A close requested by the poll thread (fatal error) stops it without a waiter")
    func requestedClose() {
        var machine = started()
        let log = CommandLog()
        _ = machine.submit(log.command())
        guard case .wake(_, let failing) = machine.requestClose() else {
            Issue.record("close request does not wake")
            return
        }
        #expect(failing.count == 1)
        guard case .wait = machine.close(5) else {
            Issue.record("close during a requested close does not wait")
            return
        }
        guard case .stop = machine.nextCommands() else {
            Issue.record("not stopped")
            return
        }
        #expect(machine.pollLoopFinished().destroy?.waiters == [5])
    }

    @Test("Calls after close are refused: commands fail, the client is not lent")
    func callsAfterClose() {
        var machine = started()
        _ = machine.close(1)
        _ = machine.pollLoopFinished()
        let log = CommandLog()
        guard case .refuse(let refused) = machine.submit(log.command()) else {
            Issue.record("command accepted after close")
            return
        }
        refused(nil)
        #expect(log.entries == [nil])
        #expect(machine.borrowClient() == nil)
        guard case .none = machine.requestClose() else {
            Issue.record("close request after close wakes")
            return
        }
    }

    @Test("The client is lent while running and closing, and never once the poll thread is done (cachedWatermarks, commit)")
    func borrowInEachState() {
        var machine = started()
        #expect(machine.borrowClient() == client)
        #expect(machine.returnClient() == nil)
        _ = machine.close(1)
        #expect(machine.borrowClient() == client, "the poll thread still holds the client while closing")
        #expect(machine.returnClient() == nil)
        _ = machine.pollLoopFinished()
        #expect(machine.borrowClient() == nil)
    }

    @Test("A client borrowed when the poll thread finishes is destroyed by its last borrower, not before")
    func destroyWaitsForBorrowers() {
        var machine = started()
        #expect(machine.borrowClient() == client)
        #expect(machine.borrowClient() == client)
        _ = machine.close(1)
        let (_, destroy) = machine.pollLoopFinished()
        #expect(destroy == nil, "destroyed while lent")
        guard case .draining = machine.state else {
            Issue.record("not draining")
            return
        }
        #expect(machine.borrowClient() == nil, "lent again while draining")
        guard case .wait = machine.close(2) else {
            Issue.record("close while draining does not wait")
            return
        }
        #expect(machine.returnClient() == nil)
        let last = machine.returnClient()
        #expect(last?.client == client)
        #expect(last?.waiters == [1, 2])
        guard case .closed = machine.state else {
            Issue.record("not closed after the last borrower")
            return
        }
    }

    @Test("The poll loop ending without a close request (its buffer closed) fails the waiting commands and destroys the client")
    func pollLoopEndsOnItsOwn() {
        var machine = started()
        let log = CommandLog()
        _ = machine.submit(log.command())
        let (failing, destroy) = machine.pollLoopFinished()
        #expect(failing.count == 1)
        #expect(destroy?.client == client)
        #expect(destroy?.waiters == [])
    }
}
