/// Maps a room to its partition of `chat.rooms` (and of `chat.signals`): the only place that does.
///
/// Jump consistent hash (Lamping and Veach) of the FNV-1a hash of the room name. The partition
/// count is the *room partition count* pinned in configuration, not read from the topic, so adding
/// partitions to the topic never moves an existing room (see docs/architecture.md).
public struct RoomPartitioner: Sendable, Hashable {
    public let partitionCount: Int32

    public init(partitionCount: Int32) {
        precondition(partitionCount > 0, "a topic has at least one partition")
        self.partitionCount = partitionCount
    }

    public func partition(for room: RoomName) -> Int32 {
        Self.jumpHash(key: FNV1a.hash64(Array(room.value.utf8)), buckets: partitionCount)
    }

    static func jumpHash(key: UInt64, buckets: Int32) -> Int32 {
        var key = key
        var bucket: Int64 = -1
        var next: Int64 = 0
        while next < Int64(buckets) {
            bucket = next
            key = key &* 2_862_933_555_777_941_757 &+ 1
            next = Int64(Double(bucket + 1) * (Double(Int64(1) << 31) / Double((key >> 33) + 1)))
        }
        return Int32(bucket)
    }
}

enum FNV1a {
    static func hash64(_ bytes: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}
