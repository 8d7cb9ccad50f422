import ChatDomain

/// What one snapshot segment holds: a contiguous offset range of one partition, folded.
public struct SegmentContents: Sendable, Equatable {
    /// First offset covered.
    public var from: Int64
    /// First offset not covered (the segment covers `from..<to`).
    public var to: Int64
    /// Visible posts of the range, offset order.
    public var messages: [ChatMessage]
    /// Applied and pending amendments of the range, offset order.
    public var amendments: [SnapshotAmendment]
    /// The duplicate window at `to`, offset order.
    public var window: [WindowEntry]
    /// Every visible (non-duplicate) post of the range, deleted ones included, offset order: with
    /// the previous segment's window they give the duplicate window at any offset of the range.
    public var posts: [WindowEntry]
    /// Every visible membership event of the range, of any room, offset order: with those of the
    /// earlier segments they give every room's state at any offset (``MembershipJournal``), so a
    /// room whose creation left retention long ago still knows its members.
    public var membershipEvents: [LoggedRoomEvent]

    public init(
        from: Int64, to: Int64, messages: [ChatMessage], amendments: [SnapshotAmendment], window: [WindowEntry], posts: [WindowEntry],
        membershipEvents: [LoggedRoomEvent] = []
    ) {
        self.from = from
        self.to = to
        self.messages = messages
        self.amendments = amendments
        self.window = window
        self.posts = posts
        self.membershipEvents = membershipEvents
    }
}

/// Folds a contiguous run of a partition's records, in offset order, into ``SegmentContents``
/// through the log's one ``PartitionLogFold``: the visible messages, the amendments that applied
/// and the pending ones (their target lies before the run), the window and the posts.
///
/// With `room` set it keeps only that room's messages and amendments (the window still sees every
/// room of the partition, as the rule needs): that is how a reader folds the log tail of one room.
public struct SegmentFold: Sendable {
    public var from: Int64 { fold.from }
    /// The next offset the fold expects (the end of what it covers).
    public var to: Int64 { fold.to }
    public var span: Int64 { fold.span }
    public let room: RoomName?
    /// Records applied, including records that are not room events.
    public var recordCount: Int { fold.recordCount }
    private var fold: PartitionLogFold
    private var amendments: [SnapshotAmendment] = []

    /// - Parameters:
    ///   - from: the first offset of the run.
    ///   - window: the duplicate window at `from` (the previous segment's), offset order.
    ///   - roomStates: every room's membership state at `from` (the previous segments' membership
    ///     events folded, ``MembershipJournal``); empty only when `from` is the log's first offset.
    public init(
        from: Int64, span: Int64, window: [WindowEntry], roomStates: [RoomName: RoomState] = [:], room: RoomName? = nil, partition: Int32 = 0
    ) {
        self.room = room
        self.fold = PartitionLogFold(
            partition: partition, from: from, span: span, window: window, roomStates: roomStates, rooms: room.map { .only($0) } ?? .all,
            keepsMessages: true, keepsPosts: true, keepsMembershipEvents: true)
    }

    /// Every room's membership state at ``to``: what the next run is seeded with.
    public var roomStates: [RoomName: RoomState] { fold.roomStates }

    public var isEmpty: Bool { fold.isEmpty }

    /// The duplicate window at ``to``, without building the rest of ``contents()``.
    public var window: [WindowEntry] { fold.window }

    /// Applies the record at `offset` (at or after ``to``; offsets may skip, as a log's may).
    public mutating func apply(offset: Int64, value: [UInt8]) {
        keep(fold.apply(offset: offset, value: value))
    }

    /// Applies a decoded record; `nil` for a record that is not a room event (every reader skips it).
    public mutating func apply(offset: Int64, event: RoomEvent?) {
        keep(fold.apply(offset: offset, event: event))
    }

    private mutating func keep(_ folded: FoldedEvent?) {
        guard let folded, folded.verdict == .visible || folded.verdict == .pending, let amendment = SnapshotAmendment(folded) else { return }
        amendments.append(amendment)
    }

    /// The folded run.
    public func contents() -> SegmentContents {
        SegmentContents(
            from: from, to: to, messages: fold.visibleMessages, amendments: amendments, window: fold.window, posts: fold.posts,
            membershipEvents: fold.membershipEvents)
    }
}
