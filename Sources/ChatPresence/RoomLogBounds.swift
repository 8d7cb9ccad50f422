import ChatDomain
import Kafka

/// What loading read positions needs to know of the rooms' log: a stored position of this
/// epoch on another partition than its room's, or beyond the room's end, came from no reply (a
/// record written by hand or by a broken writer) and is ignored.
public struct RoomLogBounds: Sendable {
    public let epoch: LogEpoch
    public let partitioner: RoomPartitioner
    /// The log end of a partition of `chat.rooms` on the broker.
    public let end: @Sendable (Int32) async throws -> Int64

    public init(epoch: LogEpoch, partitioner: RoomPartitioner, end: @escaping @Sendable (Int32) async throws -> Int64) {
        self.epoch = epoch
        self.partitioner = partitioner
        self.end = end
    }

    /// Bounds read from the broker's watermarks of `topic`.
    public init(epoch: LogEpoch, partitioner: RoomPartitioner, admin: KafkaAdmin, topic: String = ChatTopics.rooms) {
        self.init(epoch: epoch, partitioner: partitioner) { partition in
            try await admin.watermarks(topic: topic, partition: partition, timeout: .seconds(5)).high
        }
    }
}
