/// The log's rules, applied once for every reader: folds the records of one partition of
/// `chat.rooms`, in offset order, and tells for each room event its verdict (``LogVerdict``) and
/// what it changed in its room (``RoomChange``).
///
/// The fan-out's live path and catch-ups, history pages and lookups, the compactor's segments and
/// `chatctl replay` all fold through this type, so they agree by construction: the duplicate rule
/// (``DuplicateWindow``, over every room of the partition) is applied here, the amendment rule in
/// the ``RoomTimeline`` of each room it keeps. A new kind of event (membership, reactions,
/// replies) is a new case here and reaches every reader at once.
///
/// The membership rule (``MembershipRule``) comes first: an event the sender's access or role does
/// not allow at its place in the log is refused before any other rule sees it, so a post that
/// follows its author's ban is never visible and never an original a retry could repeat. For that
/// every fold keeps the state of every room of the partition that has one (``roomStates``), and a
/// fold that starts after the log start is seeded with the states at its start.
///
/// What it keeps is chosen per reader: the duplicate window and room states always (bounded by
/// `span` and by the rooms that were created or moderated), plus the messages of one room
/// (history), of every room (the compactor), or of none (the live fan-out, which must stay bounded
/// however many rooms and messages pass).
public struct PartitionLogFold: Sendable {
    /// Which rooms' events the fold reports; the others only feed the duplicate window.
    public enum Rooms: Sendable, Equatable {
        case all
        case only(RoomName)
    }

    public let partition: Int32
    /// Offsets back within which a post with the same (room, user, cmid) is a retry.
    public let span: Int64
    /// The first offset folded; amendments of messages before it are ``LogVerdict/pending``.
    public let from: Int64
    /// The next offset the fold expects (the end of what it covers).
    public private(set) var to: Int64
    public let rooms: Rooms
    /// Whether the fold keeps the messages of its rooms (and so judges their edits and deletes).
    public let keepsMessages: Bool
    /// Records folded, including records that are not room events.
    public private(set) var recordCount = 0
    /// Every visible post folded, of any room, deleted ones included, offset order (only with
    /// `keepsPosts`): with the window at ``from`` they give the window at any offset folded.
    public private(set) var posts: [WindowEntry] = []
    /// Every visible membership event folded, offset order (only with `keepsMembershipEvents`):
    /// what a snapshot segment stores so that room states survive retention.
    public private(set) var membershipEvents: [LoggedRoomEvent] = []
    /// The membership state of every room of the partition that has one, as of ``to``.
    public private(set) var roomStates: [RoomName: RoomState]
    private let keepsPosts: Bool
    private let keepsMembershipEvents: Bool
    private var duplicates: DuplicateWindow
    private var timelines: [RoomName: RoomTimeline] = [:]

    /// - Parameters:
    ///   - from: the first offset to fold.
    ///   - window: the duplicate window at `from` (the visible posts of the `span` offsets before
    ///     it, e.g. a snapshot segment's); empty when folding from the log start, or when the
    ///     caller starts `span` offsets early to warm the window instead.
    ///   - roomStates: the room states at `from` (``MembershipJournal/states(before:)``); empty
    ///     only when folding from the log's very first offset.
    public init(
        partition: Int32, from: Int64, span: Int64, window: [WindowEntry] = [], roomStates: [RoomName: RoomState] = [:], rooms: Rooms = .all,
        keepsMessages: Bool = false, keepsPosts: Bool = false, keepsMembershipEvents: Bool = false
    ) {
        self.partition = partition
        self.from = from
        self.to = from
        self.span = span
        self.rooms = rooms
        self.keepsMessages = keepsMessages
        self.keepsPosts = keepsPosts
        self.keepsMembershipEvents = keepsMembershipEvents
        self.roomStates = roomStates
        self.duplicates = DuplicateWindow(span: span)
        for entry in window.sorted(by: { $0.offset < $1.offset }) {
            _ = duplicates.admit(Self.key(room: entry.room, user: entry.author, cmid: entry.cmid), offset: entry.offset, timestamp: entry.timestamp)
        }
    }

    public var isEmpty: Bool { to == from }

    /// Folds the record at `offset` (raw value bytes).
    @discardableResult
    public mutating func apply(offset: Int64, value: [UInt8]) -> FoldedEvent? {
        apply(offset: offset, event: RoomEvent(decoding: value))
    }

    /// Folds a decoded record; `event` is `nil` for a record that is not a room event (skipped by
    /// every reader). Offsets may skip, as a log's may; a record before ``to`` (already folded) is
    /// ignored.
    ///
    /// - Returns: the event with its verdict and change; `nil` for a record that is not a room
    ///   event, was already folded, or belongs to a room the fold does not report.
    @discardableResult
    public mutating func apply(offset: Int64, event: RoomEvent?) -> FoldedEvent? {
        guard offset >= to else { return nil }
        to = offset + 1
        recordCount += 1
        guard let event else { return nil }
        let logged = LoggedRoomEvent(event: event, partition: partition, offset: offset)
        let reported: Bool
        if case .only(let room) = rooms { reported = room == event.room } else { reported = true }
        var state = roomStates[event.room]
        if let refusal = MembershipRule.apply(event, to: &state, offset: offset) {
            return reported ? FoldedEvent(logged: logged, verdict: .refused(refusal), change: nil) : nil
        }
        if case .membership(let action) = event.kind, let state {
            roomStates[event.room] = state
            if keepsMembershipEvents { membershipEvents.append(logged) }
            return reported ? FoldedEvent(logged: logged, verdict: .visible, change: .membership(action, state: state)) : nil
        }
        var duplicateOf: DuplicateWindow.Original?
        if case .message(let cmid, _) = event.kind {
            duplicateOf = duplicates.admit(Self.key(room: event.room.value, user: event.from, cmid: cmid), offset: offset, timestamp: event.timestamp)
            if duplicateOf == nil, keepsPosts {
                posts.append(WindowEntry(offset: offset, room: event.room.value, author: event.from, cmid: cmid, timestamp: event.timestamp))
            }
        }
        guard reported else { return nil }
        if keepsMessages {
            let (verdict, change) = timelines[event.room, default: RoomTimeline(room: event.room, from: from)].apply(logged, duplicateOf: duplicateOf)
            return FoldedEvent(logged: logged, verdict: verdict, change: change)
        }
        // No messages kept: posts are judged, amendments left to whoever holds their target.
        switch event.kind {
        case .message(let cmid, let body):
            if let duplicateOf { return FoldedEvent(logged: logged, verdict: .duplicate(of: duplicateOf), change: nil) }
            let message = ChatMessage(
                room: event.room, msgId: logged.messageID, cmid: cmid, from: event.from, body: body, timestamp: event.timestamp, offset: offset)
            return FoldedEvent(logged: logged, verdict: .visible, change: .posted(message))
        case .edit, .delete:
            return FoldedEvent(logged: logged, verdict: .pending, change: nil)
        case .membership:
            return nil
        }
    }

    /// Folds the record at `offset` for the room states alone: a record that is no membership
    /// event (``RoomEvent/mayBeMembership(_:)``) only moves the fold on, undecoded. For a reader
    /// that replays a long range only to learn the room states before the range it serves (whose
    /// duplicate window it warms from `span` before that range, as a fold starting there would).
    @discardableResult
    public mutating func applyMembership(offset: Int64, value: [UInt8]) -> FoldedEvent? {
        guard RoomEvent.mayBeMembership(value) else {
            guard offset >= to else { return nil }
            to = offset + 1
            recordCount += 1
            return nil
        }
        return apply(offset: offset, value: value)
    }

    /// The duplicate window at ``to``: the visible posts of the `span` offsets before it, offset order.
    public var window: [WindowEntry] {
        duplicates.entries(atOrAfter: to - span).map {
            WindowEntry(offset: $0.original.offset, room: $0.key.room, author: $0.key.user, cmid: $0.key.cmid, timestamp: $0.original.timestamp)
        }
    }

    /// The visible post a send of (room, user, cmid) appended at `nextOffset` would repeat.
    public func original(room: RoomName, user: String, cmid: String, appendedAt nextOffset: Int64) -> DuplicateWindow.Original? {
        duplicates.original(of: Self.key(room: room.value, user: user, cmid: cmid), appendedAt: nextOffset)
    }

    /// The remembered visible post of (room, user, cmid), however old.
    public func original(room: RoomName, user: String, cmid: String) -> DuplicateWindow.Original? {
        duplicates.original(of: Self.key(room: room.value, user: user, cmid: cmid))
    }

    /// The membership state of `room` as of ``to`` (`nil`: never created nor moderated).
    public func state(of room: RoomName) -> RoomState? { roomStates[room] }

    /// The timeline of `room` (only when the fold keeps messages and has seen the room).
    public func timeline(of room: RoomName) -> RoomTimeline? { timelines[room] }

    /// The visible messages of every room the fold kept, offset order.
    public var visibleMessages: [ChatMessage] {
        if timelines.count == 1, let only = timelines.values.first { return only.visibleMessages }
        return timelines.values.flatMap(\.visibleMessages).sorted { $0.offset < $1.offset }
    }

    /// The one construction of the duplicate rule's key: what makes two posts the same post.
    private static func key(room: String, user: String, cmid: String) -> DuplicateWindow.Key {
        DuplicateWindow.Key(room: room, user: user, cmid: cmid)
    }
}
