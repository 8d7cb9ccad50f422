import Testing

@testable import ChatFanout

/// The fan-out's acknowledgement waiters, driven directly.
@Suite("Waiters for processed offsets")
struct OffsetWaitersTests {
    let later = ContinuousClock.now.advanced(by: .seconds(60))

    @Test("Waiters are handed out once their offset is processed, in offset order, whatever the insertion order")
    func processedInOffsetOrder() {
        var waiters = OffsetWaiters<String>()
        for offset: Int64 in [5, 3, 9, 4, 7] { waiters.insert(offset: offset, deadline: later, waiter: "w\(offset)") }
        #expect(waiters.removeProcessed(before: 3).isEmpty)
        #expect(waiters.removeProcessed(before: 5) == ["w3", "w4"])
        #expect(waiters.removeProcessed(before: 5).isEmpty)
        waiters.insert(offset: 6, deadline: later, waiter: "w6")
        #expect(waiters.removeProcessed(before: 8) == ["w5", "w6", "w7"])
        #expect(waiters.count == 1)
        #expect(waiters.removeProcessed(before: 100) == ["w9"])
        #expect(waiters.isEmpty)
    }

    @Test("Expired waiters leave, the others keep their order")
    func expiry() {
        let now = ContinuousClock.now
        var waiters = OffsetWaiters<String>()
        waiters.insert(offset: 1, deadline: now, waiter: "expired-1")
        waiters.insert(offset: 2, deadline: later, waiter: "kept-2")
        waiters.insert(offset: 3, deadline: now.advanced(by: .seconds(-1)), waiter: "expired-3")
        waiters.insert(offset: 4, deadline: later, waiter: "kept-4")
        let expired = waiters.removeExpired(at: now)
        #expect(expired.map(\.offset) == [1, 3])
        #expect(expired.map(\.waiter) == ["expired-1", "expired-3"])
        #expect(waiters.removeProcessed(before: 5) == ["kept-2", "kept-4"])
    }

    @Test("Many waiters resolved in small steps: each handed out exactly once, never before its offset is processed")
    func manySmallSteps() {
        var waiters = OffsetWaiters<(id: Int, offset: Int64)>()
        var handedOut: [Int] = []
        for id in 0..<5000 {
            // Slightly out of order, as concurrent acknowledgements arrive.
            let offset = Int64(id % 7 == 3 ? id - 2 : id)
            waiters.insert(offset: offset, deadline: later, waiter: (id, offset))
            if id % 10 == 9 {
                let position = Int64(id - 50)
                let due = waiters.removeProcessed(before: position)
                #expect(due.allSatisfy { $0.offset < position })
                handedOut += due.map(\.id)
            }
        }
        handedOut += waiters.removeAll().map(\.id)
        let expected = Array(0..<5000)
        #expect(handedOut.sorted() == expected)
        #expect(waiters.isEmpty)
    }
}
