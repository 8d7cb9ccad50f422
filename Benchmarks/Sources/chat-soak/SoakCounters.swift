import Synchronization

/// Running totals every session updates, read by the progress line on stderr and the report's
/// figures. The audit itself works on the sessions' own records.
final class SoakCounters: Sendable {
    enum Counter: Int, CaseIterable {
        case posted, acked, delivered, retries, connections, connectFailures, readySessions
    }

    private let values = Mutex([Int](repeating: 0, count: Counter.allCases.count))

    func add(_ counter: Counter, _ amount: Int = 1) {
        values.withLock { $0[counter.rawValue] += amount }
    }

    func value(_ counter: Counter) -> Int {
        values.withLock { $0[counter.rawValue] }
    }
}
