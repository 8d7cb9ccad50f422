import Foundation
import Synchronization

/// The faults a soak injected, in order, with what each did.
final class FaultLog: Sendable {
    /// One injected fault.
    struct Event: Sendable, Codable {
        var kind: String
        var atSeconds: Double
        var detail: String
    }

    private let events = Mutex<[Event]>([])
    private let started: ContinuousClock.Instant
    private let verbose: Bool

    init(started: ContinuousClock.Instant, verbose: Bool) {
        self.started = started
        self.verbose = verbose
    }

    func add(_ kind: String, _ detail: String) {
        let at = (ContinuousClock.now - started) / .seconds(1)
        events.withLock { $0.append(Event(kind: kind, atSeconds: (at * 10).rounded() / 10, detail: detail)) }
        if verbose { SoakOutput.progress("[\(SoakOutput.seconds(at))] fault \(kind): \(detail)") }
    }

    var all: [Event] { events.withLock { $0 } }

    func count(_ kind: String) -> Int { events.withLock { $0.filter { $0.kind == kind }.count } }
}
