import ChatDomain
import Kafka

/// A send waiting for its `ack`: durable already, answered once the fan-out has read its record.
public struct AcknowledgementRequest: Sendable {
    public var room: RoomName
    public var user: String
    public var cmid: String
    /// Where the delivery report put the record.
    public var position: KafkaPosition
    public var timestamp: Int64
    /// Past it the request fails with ``FanoutError/unavailable(_:)`` (the housekeeping tick checks).
    public var deadline: ContinuousClock.Instant
    /// Called once, on the fan-out's executor: keep it short and non-blocking.
    public var completion: @Sendable (Result<AcknowledgedPost, FanoutError>) -> Void

    public init(
        room: RoomName, user: String, cmid: String, position: KafkaPosition, timestamp: Int64, deadline: ContinuousClock.Instant,
        completion: @escaping @Sendable (Result<AcknowledgedPost, FanoutError>) -> Void
    ) {
        self.room = room
        self.user = user
        self.cmid = cmid
        self.position = position
        self.timestamp = timestamp
        self.deadline = deadline
        self.completion = completion
    }
}

/// A waiter whose record was read, with its answer, to be resumed after the batch's frames were
/// handed to the event loops.
enum ResolvedWaiter {
    case task(CheckedContinuation<Void, any Error>)
    case acknowledgement(AcknowledgementRequest, Result<AcknowledgedPost, FanoutError>)

    func resume() {
        switch self {
        case .task(let continuation): continuation.resume()
        case .acknowledgement(let request, let answer): request.completion(answer)
        }
    }
}

/// Who waits in a partition's ``OffsetWaiters``: a task (`waitUntilRead`), or a send's
/// acknowledgement, answered in place when its record is read: no task is woken for it, and the
/// answer is computed while the duplicate window holds exactly the records up to it.
enum ReadWaiter {
    case task(CheckedContinuation<Void, any Error>)
    case acknowledgement(AcknowledgementRequest)

    /// Fails the waiter (expired, shutting down).
    func resume(throwing error: FanoutError) {
        switch self {
        case .task(let continuation): continuation.resume(throwing: error)
        case .acknowledgement(let request): request.completion(.failure(error))
        }
    }
}
