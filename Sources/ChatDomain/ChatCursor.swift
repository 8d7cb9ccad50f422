/// Names one incarnation of the room log, so a cursor from another cluster or topic is recognised.
public struct LogEpoch: Hashable, Sendable, CustomStringConvertible {
    public let value: UInt64

    public init(value: UInt64) { self.value = value }

    /// Derived from the Kafka cluster id and the topic name.
    public init(clusterID: String, topic: String) {
        self.value = FNV1a.hash64(Array("\(clusterID)/\(topic)".utf8))
    }

    /// Sixteen lowercase hex digits.
    public var description: String {
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }

    init?(hex: Substring) {
        guard hex.count == 16, let value = UInt64(hex, radix: 16) else { return nil }
        self.value = value
    }
}

/// A point in a room's history: the log epoch, the room's partition and an offset in it.
///
/// Clients treat it as an opaque string (`<epoch>.<partition>.<offset>`). An event's cursor is its
/// own offset; resuming with a cursor delivers every event after it.
public struct ChatCursor: Hashable, Sendable, CustomStringConvertible {
    public let epoch: LogEpoch
    public let partition: Int32
    /// The offset of the event, or -1 for "before the first event of the partition".
    public let offset: Int64

    public init(epoch: LogEpoch, partition: Int32, offset: Int64) {
        self.epoch = epoch
        self.partition = partition
        self.offset = offset
    }

    /// Parses a cursor string; `nil` for anything malformed.
    public init?(_ text: String) {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let epoch = LogEpoch(hex: parts[0]),
            let partition = Int32(parts[1]), partition >= 0,
            let offset = Int64(parts[2]), offset >= Self.lowestOffset
        else { return nil }
        self.init(epoch: epoch, partition: partition, offset: offset)
    }

    public var description: String { "\(epoch).\(partition).\(offset)" }
}
