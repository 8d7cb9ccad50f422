/// Decides which posts are retries of an earlier post, the same way on every reader of a partition.
///
/// Rule: a post at offset `o` by `user` in `room` with client message id `cmid` is a duplicate when
/// a visible (non-duplicate) post with the same (room, user, cmid) is at an offset in
/// `[o - span, o)`. The decision depends only on the log, so gateways, history and the compactor
/// agree without talking to each other.
public struct DuplicateWindow: Sendable {
    public struct Key: Hashable, Sendable {
        public var room: String
        public var user: String
        public var cmid: String

        public init(room: String, user: String, cmid: String) {
            self.room = room
            self.user = user
            self.cmid = cmid
        }
    }

    /// The visible post that a duplicate repeats.
    public struct Original: Sendable, Equatable {
        public var offset: Int64
        public var timestamp: Int64

        public init(offset: Int64, timestamp: Int64) {
            self.offset = offset
            self.timestamp = timestamp
        }
    }

    /// How many offsets back a retry is recognised.
    public let span: Int64
    private var originals: [Key: Original] = [:]
    private var order: [(offset: Int64, key: Key)] = []
    private var head = 0

    public init(span: Int64) {
        self.span = span
    }

    /// Judges the post at `offset` and remembers it when it is not a duplicate.
    /// - Returns: the original when this post is a duplicate, `nil` when it is a new visible message.
    public mutating func admit(_ key: Key, offset: Int64, timestamp: Int64) -> Original? {
        evict(before: offset - span)
        if let original = originals[key] { return original }
        originals[key] = Original(offset: offset, timestamp: timestamp)
        order.append((offset, key))
        return nil
    }

    /// The original a post appended at `nextOffset` would repeat, without remembering anything.
    public func original(of key: Key, appendedAt nextOffset: Int64) -> Original? {
        guard let original = originals[key], original.offset >= nextOffset - span else { return nil }
        return original
    }

    /// The remembered visible post with this key, however old.
    public func original(of key: Key) -> Original? { originals[key] }

    public var count: Int { originals.count }

    /// The remembered visible posts at offsets `>= floor`, offset order: the window a reader
    /// starting at `floor + span` needs.
    public func entries(atOrAfter floor: Int64) -> [(key: Key, original: Original)] {
        order[head...].compactMap { entry in
            guard entry.offset >= floor, let original = originals[entry.key], original.offset == entry.offset else { return nil }
            return (entry.key, original)
        }
    }

    private mutating func evict(before floor: Int64) {
        while head < order.count, order[head].offset < floor {
            let entry = order[head]
            if originals[entry.key]?.offset == entry.offset { originals[entry.key] = nil }
            head += 1
        }
        if head > 1024, head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }
}
