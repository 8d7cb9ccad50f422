/// The outcome of ``KafkaProducer/send(_:)-([KafkaProducerRecord])``: where every record landed and
/// which records were not delivered, without a `Result` per record.
///
/// `positions` has one entry per record, in the order of the records sent. The entry of a record
/// that failed keeps the partition it was sent to and has ``KafkaBatchResult/noOffset`` as offset;
/// `failures` lists those records by ascending index, with the reason.
public struct KafkaBatchResult: Sendable {
    /// A record of the batch that was not delivered.
    public struct Failure: Sendable {
        /// The record's index in the array passed to `send`.
        public let index: Int
        public let error: KafkaError

        public init(index: Int, error: KafkaError) {
            self.index = index
            self.error = error
        }
    }

    /// The offset in `positions` of a record that was not delivered.
    public static let noOffset: Int64 = -1

    /// Where each record landed, by the record's index in the batch.
    public let positions: [KafkaPosition]
    /// The records that were not delivered, by ascending index. Empty when all were delivered.
    public let failures: [Failure]

    /// `failures` must be sorted by index and name each failed index once.
    public init(positions: [KafkaPosition], failures: [Failure] = []) {
        self.positions = positions
        self.failures = failures
    }

    /// Number of records in the batch.
    public var count: Int { positions.count }
    /// Number of records acknowledged by the brokers.
    public var deliveredCount: Int { positions.count - failures.count }
    public var allDelivered: Bool { failures.isEmpty }

    /// Every record's position, or the error of the first record that was not delivered.
    public func get() throws(KafkaError) -> [KafkaPosition] {
        if let first = failures.first { throw first.error }
        return positions
    }

    /// The outcome of the record at `index`.
    public subscript(index: Int) -> Result<KafkaPosition, KafkaError> {
        precondition(positions.indices.contains(index), "index \(index) out of the batch's \(positions.count) records")
        if let error = error(at: index) { return .failure(error) }
        return .success(positions[index])
    }

    /// Why the record at `index` was not delivered, or `nil` if it was.
    public func error(at index: Int) -> KafkaError? {
        guard !failures.isEmpty else { return nil }
        var low = 0
        var high = failures.count
        while low < high {
            let middle = (low + high) / 2
            if failures[middle].index < index { low = middle + 1 } else { high = middle }
        }
        return low < failures.count && failures[low].index == index ? failures[low].error : nil
    }
}
