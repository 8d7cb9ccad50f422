/// A visible (non-duplicate) post of the partition within the duplicate span of a segment's end:
/// what the ``DuplicateWindow`` needs to judge the records after the segment.
public struct WindowEntry: Sendable, Equatable {
    public var offset: Int64
    public var room: String
    public var author: String
    public var cmid: String
    public var timestamp: Int64

    public init(offset: Int64, room: String, author: String, cmid: String, timestamp: Int64) {
        self.offset = offset
        self.room = room
        self.author = author
        self.cmid = cmid
        self.timestamp = timestamp
    }
}

extension DuplicateWindow {
    /// A window that judges the records from `offset` on as a window fed the whole log would:
    /// `entries` are the visible posts within `span` before `offset`, in offset order.
    public static func seeded(span: Int64, with entries: [WindowEntry]) -> DuplicateWindow {
        var window = DuplicateWindow(span: span)
        for entry in entries.sorted(by: { $0.offset < $1.offset }) {
            _ = window.admit(.init(room: entry.room, user: entry.author, cmid: entry.cmid), offset: entry.offset, timestamp: entry.timestamp)
        }
        return window
    }
}
