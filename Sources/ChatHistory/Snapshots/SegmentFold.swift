import ChatDomain

/// What one snapshot segment holds: a contiguous offset range of one partition, folded.
public struct SegmentContents: Sendable, Equatable {
    /// First offset covered.
    public var from: Int64
    /// First offset not covered (the segment covers `from..<to`).
    public var to: Int64
    /// Visible posts of the range, offset order.
    public var messages: [SnapshotMessage]
    /// Applied and pending amendments of the range, offset order.
    public var amendments: [SnapshotAmendment]
    /// The duplicate window at `to`, offset order.
    public var window: [WindowEntry]
    /// Every visible (non-duplicate) post of the range, deleted ones included, offset order: with
    /// the previous segment's window they give the duplicate window at any offset of the range.
    public var posts: [WindowEntry]

    public init(from: Int64, to: Int64, messages: [SnapshotMessage], amendments: [SnapshotAmendment], window: [WindowEntry], posts: [WindowEntry]) {
        self.from = from
        self.to = to
        self.messages = messages
        self.amendments = amendments
        self.window = window
        self.posts = posts
    }
}

/// Folds a contiguous run of a partition's records, in offset order, into ``SegmentContents``:
/// duplicates dropped by the ``DuplicateWindow`` rule, edits and deletes whose target lies in the
/// run applied (author only, as ``RoomTimeline`` does), the others kept as pending amendments.
///
/// With `room` set it keeps only that room's posts and amendments (the window still sees every
/// room of the partition, as the rule needs): that is how a reader folds the log tail of one room.
public struct SegmentFold: Sendable {
    public let from: Int64
    /// The next offset the fold expects (the end of what it covers).
    public private(set) var to: Int64
    public let span: Int64
    public let room: String?
    /// Records applied, including records that are not room events.
    public private(set) var recordCount = 0
    private var duplicates: DuplicateWindow
    private var windowEntries: [WindowEntry]
    private var windowHead = 0
    private var posts: [WindowEntry] = []
    private var messages: [Int64: SnapshotMessage] = [:]
    private var amendments: [SnapshotAmendment] = []

    /// - Parameters:
    ///   - from: the first offset of the run.
    ///   - window: the duplicate window at `from` (the previous segment's), offset order.
    public init(from: Int64, span: Int64, window: [WindowEntry], room: String? = nil) {
        self.from = from
        self.to = from
        self.span = span
        self.room = room
        self.duplicates = DuplicateWindow.seeded(span: span, with: window)
        self.windowEntries = window
    }

    public var isEmpty: Bool { to == from }

    /// Applies the record at `offset` (at or after ``to``; offsets may skip, as a log's may).
    public mutating func apply(offset: Int64, value: [UInt8]) {
        apply(offset: offset, event: RoomEvent(decoding: value))
    }

    /// Applies a decoded record; `nil` for a record that is not a room event (every reader skips it).
    public mutating func apply(offset: Int64, event: RoomEvent?) {
        precondition(offset >= to, "records are folded in offset order")
        to = offset + 1
        recordCount += 1
        guard let event else { return }
        let room = event.room.value
        switch event.kind {
        case .message(let cmid, let body):
            let verdict = duplicates.admit(.init(room: room, user: event.from, cmid: cmid), offset: offset, timestamp: event.timestamp)
            guard verdict == nil else { return }
            let post = WindowEntry(offset: offset, room: room, author: event.from, cmid: cmid, timestamp: event.timestamp)
            windowEntries.append(post)
            posts.append(post)
            trimWindow(before: offset - span)
            guard self.room == nil || self.room == room else { return }
            messages[offset] = SnapshotMessage(
                offset: offset, room: room, cmid: cmid, author: event.from, body: body, timestamp: event.timestamp, edited: false)
        case .edit(let msgId, let body):
            amend(SnapshotAmendment(
                offset: offset, room: room, author: event.from, target: msgId, kind: .edit, body: body, timestamp: event.timestamp,
                pending: false))
        case .delete(let msgId):
            amend(SnapshotAmendment(
                offset: offset, room: room, author: event.from, target: msgId, kind: .delete, body: nil, timestamp: event.timestamp,
                pending: false))
        }
    }

    /// Drops entries no later record can repeat, in amortised constant time per post.
    private mutating func trimWindow(before floor: Int64) {
        while windowHead < windowEntries.count, windowEntries[windowHead].offset < floor { windowHead += 1 }
        if windowHead > 1024, windowHead * 2 > windowEntries.count {
            windowEntries.removeFirst(windowHead)
            windowHead = 0
        }
    }

    private mutating func amend(_ amendment: SnapshotAmendment) {
        guard self.room == nil || self.room == amendment.room else { return }
        // An id that names no earlier post is ignored by every reader: nothing to keep.
        guard let target = amendment.targetOffset, target < amendment.offset else { return }
        guard target >= from else {
            var pending = amendment
            pending.pending = true
            amendments.append(pending)
            return
        }
        let (message, applied) = AmendmentChain.apply([amendment], to: messages[target])
        guard !applied.isEmpty else { return }
        messages[target] = message
        amendments.append(amendment)
    }

    /// The folded run.
    public func contents() -> SegmentContents {
        let floor = to - span
        return SegmentContents(
            from: from, to: to,
            messages: messages.values.sorted { $0.offset < $1.offset },
            amendments: amendments,
            window: windowEntries.filter { $0.offset >= floor },
            posts: posts)
    }
}

/// The amendment rule, shared by the fold, merges and readers.
public enum AmendmentChain {
    /// Applies the amendments of one target, in offset order, to the target as it stood before them.
    /// Only the author may edit or delete; nothing applies to a deleted or unknown message.
    /// - Returns: the message afterwards (`nil` when deleted or unknown) and the amendments that applied.
    public static func apply(_ amendments: [SnapshotAmendment], to message: SnapshotMessage?) -> (SnapshotMessage?, [SnapshotAmendment]) {
        var current = message
        var applied: [SnapshotAmendment] = []
        for amendment in amendments {
            guard var target = current, target.room == amendment.room,
                AmendmentRule.applies(sentBy: amendment.author, toMessageBy: target.author)
            else { continue }
            switch amendment.kind {
            case .edit:
                target.body = amendment.body ?? ""
                target.edited = true
                current = target
            case .delete:
                current = nil
            }
            var done = amendment
            done.pending = false
            applied.append(done)
        }
        return (current, applied)
    }
}
