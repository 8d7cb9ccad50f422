import Testing

@testable import Kafka

@Suite("Producer state machine")
struct ProducerStateMachineTests {
    typealias Machine = ProducerStateMachine<FakeClient, Int>
    let client = FakeClient(id: 3)

    func started() -> Machine {
        var machine = Machine()
        machine.start(client)
        return machine
    }

    func records(_ count: Int) -> [KafkaProducerRecord] {
        (0..<count).map { KafkaProducerRecord(topic: "t", partition: 0, key: nil, value: Array("\($0)".utf8)) }
    }

    @Test("Before start nothing is accepted and a close returns at once")
    func initial() {
        var machine = Machine()
        guard case .refuse = machine.produce(KafkaDelivery()) else {
            Issue.record("record accepted before start")
            return
        }
        #expect(machine.submit(records(1), DeliveryBatch(count: 1)) == nil)
        #expect(machine.borrowClient() == nil)
        guard case .resume(1) = machine.close(1, flushTimeout: .seconds(1)) else {
            Issue.record("close before start waits")
            return
        }
    }

    @Test("Records produced while running get increasing ids with the client, and their deliveries are resolved once")
    func produceAndResolve() {
        var machine = started()
        let first = KafkaDelivery()
        let second = KafkaDelivery()
        guard case .enqueue(let to, let id1) = machine.produce(first), case .enqueue(_, let id2) = machine.produce(second) else {
            Issue.record("record refused while running")
            return
        }
        #expect(to == client)
        #expect(id2 > id1)
        #expect(machine.removeDelivery(id1) === first, "a refused record's delivery is taken back")
        let resolved = machine.takeDeliveries([id1, id2])
        #expect(resolved.count == 2)
        #expect(resolved[0] == nil, "a delivery is resolved once")
        #expect(resolved[1] === second)
        #expect(machine.pending.isEmpty)
    }

    @Test("Batches are handed to the poll thread one at a time, oldest first, only when it holds none")
    func pollTakesBatches() {
        var machine = started()
        guard case .produce(nil) = machine.nextJob(holding: false) else {
            Issue.record("job without a batch")
            return
        }
        let a = DeliveryBatch(count: 2)
        let b = DeliveryBatch(count: 1)
        #expect(machine.submit(records(2), a) == client)
        #expect(machine.submit(records(1), b) == client)
        guard case .produce(nil) = machine.nextJob(holding: true) else {
            Issue.record("batch taken while one is in hand")
            return
        }
        guard case .produce(let firstJob?) = machine.nextJob(holding: false) else {
            Issue.record("no batch taken")
            return
        }
        #expect(firstJob.batch === a)
        #expect(firstJob.records.count == 2)
        guard case .produce(let secondJob?) = machine.nextJob(holding: false) else {
            Issue.record("second batch not taken")
            return
        }
        #expect(secondJob.batch === b)
        #expect(machine.batch(firstJob.number) === a, "a batch is found by number until it is resolved")
        machine.removeBatch(firstJob.number)
        #expect(machine.batch(firstJob.number) == nil)
    }

    @Test("A close stops the poll thread with the batches it has not taken and the latest flush timeout")
    func closeWhilePolling() {
        var machine = started()
        let batch = DeliveryBatch(count: 3)
        _ = machine.submit(records(3), batch)
        guard case .wake(let woken) = machine.close(1, flushTimeout: .seconds(10)) else {
            Issue.record("close does not wake")
            return
        }
        #expect(woken == client)
        guard case .wait = machine.close(2, flushTimeout: .seconds(2)) else {
            Issue.record("second close does not wait")
            return
        }
        guard case .refuse = machine.produce(KafkaDelivery()) else {
            Issue.record("record accepted while closing")
            return
        }
        #expect(machine.submit(records(1), DeliveryBatch(count: 1)) == nil, "batch accepted while closing")
        guard case .stop(let unsent, let flushTimeout) = machine.nextJob(holding: false) else {
            Issue.record("poll thread not stopped")
            return
        }
        #expect(unsent.count == 1)
        #expect(unsent.first?.batch === batch)
        #expect(flushTimeout == .seconds(2))
    }

    @Test("Shutdown with outstanding deliveries hands every unresolved delivery and batch over to be failed, then destroys the client")
    func shutdownWithOutstandingDeliveries() {
        var machine = started()
        let delivery = KafkaDelivery()
        let batch = DeliveryBatch(count: 2)
        _ = machine.produce(delivery)
        _ = machine.submit(records(2), batch)
        _ = machine.nextJob(holding: false)
        _ = machine.close(1, flushTimeout: .seconds(1))
        _ = machine.nextJob(holding: false)
        let (deliveries, batches, destroy) = machine.pollLoopFinished()
        #expect(deliveries.count == 1 && deliveries.first === delivery)
        #expect(batches.count == 1 && batches.first === batch)
        #expect(destroy?.client == client)
        #expect(destroy?.waiters == [1])
        #expect(machine.pending.isEmpty && machine.batches.isEmpty)
        guard case .closed = machine.state else {
            Issue.record("not closed")
            return
        }
        guard case .resume(4) = machine.close(4, flushTimeout: .seconds(1)) else {
            Issue.record("close after close waits")
            return
        }
        guard case .refuse = machine.produce(KafkaDelivery()) else {
            Issue.record("record accepted after close")
            return
        }
        #expect(machine.borrowClient() == nil)
    }

    @Test("A client borrowed for a metadata call is destroyed by its last borrower, never while lent")
    func destroyWaitsForBorrowers() {
        var machine = started()
        #expect(machine.borrowClient() == client)
        _ = machine.close(1, flushTimeout: .seconds(1))
        #expect(machine.borrowClient() == client, "the poll thread still holds the client while closing")
        _ = machine.nextJob(holding: false)
        let (_, _, destroy) = machine.pollLoopFinished()
        #expect(destroy == nil, "destroyed while lent")
        #expect(machine.borrowClient() == nil, "lent again while draining")
        guard case .wait = machine.close(2, flushTimeout: .seconds(1)) else {
            Issue.record("close while draining does not wait")
            return
        }
        #expect(machine.returnClient() == nil)
        let last = machine.returnClient()
        #expect(last?.client == client)
        #expect(last?.waiters == [1, 2])
    }
}
