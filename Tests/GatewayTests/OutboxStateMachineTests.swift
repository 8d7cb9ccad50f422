@testable import ChatGateway
import Testing

@Suite("Session outbox state machine")
struct OutboxStateMachineTests {
    @Test("Frames queue while the writer is busy and are handed over in one batch")
    func batching() {
        var machine = OutboxStateMachine<Int>(limit: 3)
        guard case .none = machine.enqueue("a"), case .none = machine.enqueue("b") else { Issue.record("queued"); return }
        guard case .write(let frames) = machine.next(waiter: 1) else { Issue.record("expected a batch"); return }
        #expect(frames == ["a", "b"])
        guard case .wait = machine.next(waiter: 2) else { Issue.record("expected to wait"); return }
        guard case .resumeWriter(let waiter, let handed) = machine.enqueue("c") else { Issue.record("expected a resume"); return }
        #expect(waiter == 2)
        #expect(handed == ["c"])
    }

    @Test("Overflow closes the session as too slow and drops what follows")
    func overflow() {
        var machine = OutboxStateMachine<Int>(limit: 2)
        _ = machine.enqueue("a")
        _ = machine.enqueue("b")
        guard case .overflow = machine.enqueue("c") else { Issue.record("expected overflow"); return }
        guard case .dropped = machine.enqueue("d") else { Issue.record("expected drop"); return }
        guard case .finish(nil) = machine.next(waiter: 1) else { Issue.record("expected finish"); return }
    }

    @Test("Going away writes what is queued, then closes with the reason")
    func goingAway() {
        var machine = OutboxStateMachine<Int>(limit: 10)
        _ = machine.enqueue("a")
        guard case .none = machine.close(.goingAway) else { Issue.record("no waiter to wake"); return }
        guard case .dropped = machine.enqueue("late") else { Issue.record("closed outbox drops"); return }
        guard case .write(let frames) = machine.next(waiter: 1), frames == ["a"] else { Issue.record("flush first"); return }
        guard case .finish(.goingAway) = machine.next(waiter: 1) else { Issue.record("then close with 1001"); return }
    }

    @Test("Closing wakes a waiting writer; a closed connection writes nothing more")
    func wakeOnClose() {
        var machine = OutboxStateMachine<Int>(limit: 10)
        guard case .wait = machine.next(waiter: 7) else { Issue.record("wait"); return }
        guard case .resumeWriter(7) = machine.close(.connectionEnded) else { Issue.record("wake the writer"); return }
        guard case .finish(nil) = machine.next(waiter: 7) else { Issue.record("finish without a close frame"); return }
    }
}
