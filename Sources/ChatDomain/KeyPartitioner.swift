/// Chooses the partition of a keyed record on the compacted topics (`chat.presence`,
/// `chat.cursors`). The producer always names partitions explicitly (mixing explicit partitions
/// and librdkafka's partitioner in one idempotent producer can reorder records), so keys are
/// hashed here, always the same way.
public enum KeyPartitioner {
    public static func partition(for key: String, partitionCount: Int32) -> Int32 {
        RoomPartitioner.jumpHash(key: FNV1a.hash64(Array(key.utf8)), buckets: partitionCount)
    }
}
