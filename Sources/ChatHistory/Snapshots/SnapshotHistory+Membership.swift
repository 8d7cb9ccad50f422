import ChatDomain
import Kafka

/// A room's membership as the snapshots plus the log fold it (``SnapshotHistory/membership(room:partition:watermarks:)``).
public struct RoomMembership: Sendable, Equatable {
    public var room: RoomName
    /// `nil`: never created nor moderated (public; a `dm.` name has no access until opened).
    public var state: RoomState?
    /// The room's visible membership events, offset order.
    public var events: [LoggedRoomEvent]
    /// Offsets neither the snapshots nor the log hold (retention deleted them before the compactor
    /// folded them): membership changes there are unknown.
    public var lost: Range<Int64>?
    /// Where the snapshots' valid segments end (`nil`: no snapshots of the partition).
    public var snapshotEnd: Int64?
}

extension SnapshotHistory {
    /// Folds `room`'s membership from every membership event the snapshots kept, then the log
    /// from where they end to `watermarks.high`, through the log's one rule.
    ///
    /// - Throws: ``SnapshotError`` when the snapshots belong to another log, or when a segment is
    ///   corrupt and the log no longer holds its range (the state cannot be known then).
    public func membership(room: RoomName, partition: Int32, watermarks: KafkaWatermarks) async throws -> RoomMembership {
        let layers = try await store.layers(partition: partition)
        if let end = layers?.manifest.coveredEnd, end > watermarks.high {
            throw SnapshotError.incompatible(
                "snapshots of \(log.reader.topic)[\(partition)] cover offsets up to \(end) but the log ends at \(watermarks.high): "
                    + "they were written from another log; point --snapshots at this cluster's snapshots or move \(store.directory.logDirectory) away"
            )
        }
        let snapshots = try await SnapshotIO.run { try layers?.membership() }
        if let failure = layers?.failure, (snapshots?.to ?? 0) < watermarks.low { throw failure }
        let from = snapshots?.to ?? 0
        let start = max(from, watermarks.low)
        var fold = PartitionLogFold(
            partition: partition, from: start, span: log.duplicateSpan, roomStates: snapshots?.states(partition: partition) ?? [:],
            rooms: .only(room), keepsMembershipEvents: true)
        for try await record in log.reader.records(partition: partition, from: start, to: watermarks.high) {
            fold.apply(offset: record.offset, value: record.value)
        }
        let events = ((snapshots?.events ?? []) + fold.membershipEvents).filter { $0.event.room == room }
        return RoomMembership(
            room: room, state: fold.state(of: room), events: events, lost: from < start ? from..<start : nil, snapshotEnd: snapshots?.to)
    }
}
