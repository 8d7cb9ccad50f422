import ChatDomain

/// The recent events of one room held by the fan-out, with the frames subscribers get for them.
struct CachedEvent: Sendable {
    var logged: LoggedRoomEvent
    /// What subscribers receive, framed once for all of them; `nil` for an event they do not see
    /// (a duplicate post, an event the rules refused).
    var frame: WireFrame?
    var duplicateOf: DuplicateWindow.Original?

    /// An event as the partition's log fold judged it, framed for subscribers unless a duplicate
    /// or refused.
    init(_ folded: FoldedEvent, epoch: LogEpoch) {
        let seen: Bool
        switch folded.verdict {
        case .visible, .pending: seen = true
        case .duplicate, .refused: seen = false
        }
        self.init(
            logged: folded.logged, frame: seen ? ServerFrame.event(folded.logged, epoch: epoch).map(WireFrame.init(json:)) : nil,
            duplicateOf: folded.duplicateOf, refused: folded.isRefused)
    }

    /// Whether the rules refused the event (a timeline replaying the cache skips it).
    var refused: Bool

    init(logged: LoggedRoomEvent, frame: WireFrame?, duplicateOf: DuplicateWindow.Original?, refused: Bool = false) {
        self.logged = logged
        self.frame = frame
        self.duplicateOf = duplicateOf
        self.refused = refused
    }
}

extension RoomTimeline {
    /// The timeline of cached events, judged by the partition's fold when they were read; edits
    /// and deletes of messages older than `from` stay pending (the cache does not hold them).
    init(room: RoomName, from: Int64, replaying events: some Sequence<CachedEvent>) {
        self.init(room: room, from: from)
        for event in events where !event.refused { apply(event.logged, duplicateOf: event.duplicateOf) }
    }
}

/// A room's cache and its subscribers in one partition.
final class RoomCache {
    /// Every event of the room at offsets `>= coveredFrom` (and below the partition position) is in `events`.
    private(set) var coveredFrom: Int64
    private(set) var events: [CachedEvent] = []
    private var head = 0
    private let capacity: Int
    var subscriptions: [ObjectIdentifier: Subscription] = [:]
    var lastActivity: Int64

    init(coveredFrom: Int64, capacity: Int) {
        self.coveredFrom = coveredFrom
        self.capacity = capacity
        self.lastActivity = coveredFrom
    }

    var cached: ArraySlice<CachedEvent> { events[head...] }

    func append(_ event: CachedEvent) {
        events.append(event)
        lastActivity = event.logged.offset
        if events.count - head > capacity {
            coveredFrom = events[head].logged.offset + 1
            head += 1
            if head > 1024, head * 2 > events.count {
                events.removeFirst(head)
                head = 0
            }
        }
    }

    /// Cached events at offsets `>= offset`.
    func events(from offset: Int64) -> ArraySlice<CachedEvent> {
        let slice = cached
        guard let first = slice.firstIndex(where: { $0.logged.offset >= offset }) else { return [] }
        return slice[first...]
    }

    /// The history visible from the cache: a timeline folded from the cached events.
    func timeline(room: RoomName) -> RoomTimeline {
        RoomTimeline(room: room, from: coveredFrom, replaying: cached)
    }
}

/// One subscriber in one room.
final class Subscription {
    enum Phase {
        case live
        /// Reading older events from the log; live events wait here in order.
        case catchingUp(backlog: [CachedEvent])
    }

    let subscriber: any RoomSubscriber
    /// The next offset this subscriber may receive: delivery is in strictly increasing offsets.
    var nextOffset: Int64
    var phase: Phase

    init(subscriber: any RoomSubscriber, nextOffset: Int64, phase: Phase) {
        self.subscriber = subscriber
        self.nextOffset = nextOffset
        self.phase = phase
    }

    /// Adds `event` to `batch` if it is the subscriber's next.
    func deliver(_ event: CachedEvent, into batch: inout DeliveryBatch) {
        guard event.logged.offset >= nextOffset else { return }
        nextOffset = event.logged.offset + 1
        guard let frame = event.frame else { return }
        batch.add(frame, to: subscriber)
    }
}
