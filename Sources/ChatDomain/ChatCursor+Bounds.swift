/// Where a cursor may point: the one rule every path that takes a cursor from a client or a
/// record applies before doing arithmetic with its offset.
extension ChatCursor {
    /// The lowest offset a cursor holds: "before the first event of the partition".
    public static let lowestOffset: Int64 = -1

    /// Whether a cursor at `offset` names a point of a partition whose log ends at `end` (the
    /// offset the next event gets): from ``lowestOffset`` up to the last event, `end - 1`.
    public static func offset(_ offset: Int64, isWithin end: Int64) -> Bool {
        offset >= lowestOffset && offset < end
    }

    /// Whether the cursor names a point of its partition when the log ends at `end`.
    public func isWithin(end: Int64) -> Bool { Self.offset(offset, isWithin: end) }

    /// The offset resuming after this cursor starts from, or `nil` when the cursor is beyond `end`
    /// (then `offset + 1` could overflow, and no event after it exists yet).
    public func resumeOffset(end: Int64) -> Int64? {
        isWithin(end: end) ? offset + 1 : nil
    }
}
