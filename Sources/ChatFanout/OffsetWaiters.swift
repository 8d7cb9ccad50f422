/// Tasks waiting until a partition has been processed past an offset, kept in offset order.
///
/// Every acknowledged send waits here until the fan-out has read its record back, and the fan-out
/// asks after every record whether anyone is due. Scanning all waiters per record made a backlog
/// feed itself (more lag, more waiters, slower records); in offset order the question costs O(1)
/// when nobody is due, and each waiter is touched once when it is. Waiters arrive almost in
/// offset order (delivery reports come in produce order), so insertion is nearly always an append.
struct OffsetWaiters<Waiter> {
    struct Entry {
        var offset: Int64
        var deadline: ContinuousClock.Instant
        var waiter: Waiter
    }

    /// Sorted by offset from `head` on; entries before `head` are already handed out.
    private var entries: [Entry] = []
    private var head = 0

    var isEmpty: Bool { head == entries.count }
    var count: Int { entries.count - head }

    mutating func insert(offset: Int64, deadline: ContinuousClock.Instant, waiter: Waiter) {
        let entry = Entry(offset: offset, deadline: deadline, waiter: waiter)
        var index = entries.count
        while index > head, entries[index - 1].offset > offset { index -= 1 }
        entries.insert(entry, at: index)
    }

    /// Removes and returns the waiters whose offset is below `position` (processed), oldest first.
    mutating func removeProcessed(before position: Int64) -> [Waiter] {
        guard head < entries.count, entries[head].offset < position else { return [] }
        var due: [Waiter] = []
        while head < entries.count, entries[head].offset < position {
            due.append(entries[head].waiter)
            head += 1
        }
        compactIfWorthIt()
        return due
    }

    /// Removes and returns the waiters whose deadline has passed, with the offset they waited for.
    mutating func removeExpired(at now: ContinuousClock.Instant) -> [(offset: Int64, waiter: Waiter)] {
        // Checked on every housekeeping tick with a full window of sends waiting: look before
        // rebuilding, since nearly always none has expired.
        guard entries[head...].contains(where: { $0.deadline <= now }) else { return [] }
        var expired: [(offset: Int64, waiter: Waiter)] = []
        var kept: [Entry] = []
        kept.reserveCapacity(count)
        for entry in entries[head...] {
            if entry.deadline <= now { expired.append((entry.offset, entry.waiter)) } else { kept.append(entry) }
        }
        entries = kept
        head = 0
        return expired
    }

    /// Removes and returns every waiter (shutdown).
    mutating func removeAll() -> [Waiter] {
        defer {
            entries.removeAll()
            head = 0
        }
        return entries[head...].map(\.waiter)
    }

    private mutating func compactIfWorthIt() {
        if head == entries.count {
            entries.removeAll(keepingCapacity: true)
            head = 0
        } else if head > 1024, head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
    }
}
