import ChatFanout
import Synchronization

/// Collects durable sends on their way to the fan-out's acknowledgement and hands them over in
/// batches: the delivery reports of a poll round arrive one by one on the producer's poll thread,
/// and each used to wake a task of its own that hopped onto the fan-out actor (and off again when
/// its record was read), contending with the fan-out's record processing for the same actor. Here
/// a report costs one short lock; the first one of a batch starts the single task that takes
/// everything queued by the time it runs on the actor.
final class AcknowledgementInbox: Sendable {
    private struct State {
        var requests: [AcknowledgementRequest] = []
        var scheduled = false
    }

    private let state = Mutex(State())

    func submit(_ request: AcknowledgementRequest, to fanout: Fanout) {
        let schedule = state.withLock { state in
            state.requests.append(request)
            defer { state.scheduled = true }
            return !state.scheduled
        }
        guard schedule else { return }
        Task { await fanout.acknowledge { self.take() } }
    }

    /// Everything queued; the next submission schedules a new hand-over.
    private func take() -> [AcknowledgementRequest] {
        state.withLock { state in
            state.scheduled = false
            defer { state.requests = [] }
            return state.requests
        }
    }
}
