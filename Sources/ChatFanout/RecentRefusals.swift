import ChatDomain

/// The refusals of the log's rules among the records a partition's fan-out read last, by offset:
/// how a send or change that the log refused (its author banned just before, in log order) is
/// answered with the refusal instead of an `ack`.
///
/// Bounded by count: an answer is asked for right after its record is read (the delivery report
/// comes first), so only the newest refusals are ever looked up.
struct RecentRefusals {
    private var byOffset: [Int64: LogRefusal] = [:]
    private var order: [Int64] = []
    private var head = 0
    let capacity: Int

    init(capacity: Int = 4096) {
        self.capacity = capacity
    }

    subscript(offset: Int64) -> LogRefusal? { byOffset[offset] }

    mutating func record(_ refusal: LogRefusal, at offset: Int64) {
        byOffset[offset] = refusal
        order.append(offset)
        if order.count - head > capacity {
            byOffset[order[head]] = nil
            head += 1
            if head > 1024, head * 2 > order.count {
                order.removeFirst(head)
                head = 0
            }
        }
    }
}
