/// A visible (non-duplicate) post of a partition, as the ``DuplicateWindow`` needs it to judge
/// later records: what a snapshot segment stores as its window at its end, and what seeds a
/// ``PartitionLogFold`` that starts mid-partition.
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
