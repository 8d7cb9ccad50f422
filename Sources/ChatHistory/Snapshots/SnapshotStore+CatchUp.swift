import ChatDomain

/// The part of a resuming subscriber's catch-up that only snapshots still hold.
public struct SnapshotCatchUp: Sendable {
    /// Offset order; see ``RoomHistoryView/events(after:partition:)`` for what they are.
    public var events: [LoggedRoomEvent]
    /// The catch-up continues from the log at this offset.
    public var logFrom: Int64
    /// The duplicate window at ``logFrom``.
    public var window: [WindowEntry]
}

extension SnapshotStore {
    /// The room's events after `after` that the snapshots hold, when they cover everything from
    /// `after + 1` up to the log start `low`.
    /// - Throws: ``SnapshotError`` when the snapshots cannot cover that range (missing, corrupt or
    ///   with a gap), so the caller reports it rather than skipping events.
    public func catchUp(room: RoomName, partition: Int32, after: Int64, low: Int64) async throws -> SnapshotCatchUp {
        guard let layers = try await layers(partition: partition), let last = layers.valid.last else {
            throw SnapshotError.historyLost("no snapshots of partition \(partition) hold offset \(after + 1) of room \(room)")
        }
        let valid = PartitionManifest(segments: layers.valid.map(\.descriptor), like: layers.manifest)
        guard valid.coversContiguously(from: after + 1, to: low) else {
            throw layers.failure
                ?? SnapshotError.historyLost(
                    "the snapshots of partition \(partition) do not cover offsets \(after + 1)..<\(low) of room \(room): the log lost them before the compactor folded them"
                )
        }
        let segments: [any RoomLayer] = layers.valid.map { SegmentRoomLayer(reader: $0, room: room.value) }
        return try await SnapshotIO.run {
            let view = try RoomHistoryView(room: room, layers: segments)
            return SnapshotCatchUp(
                events: try view.events(after: after, partition: partition), logFrom: last.descriptor.to, window: try last.window())
        }
    }
}

extension PartitionManifest {
    init(segments: [SegmentDescriptor], like other: PartitionManifest) {
        self = other
        self.segments = segments
    }
}

extension SnapshotStore {
    /// The author of the visible message at `offset` of `room` as the snapshots hold it, or `nil`
    /// when no valid segment holds it (never posted there, a retry, or deleted). Lets an edit or
    /// delete of a message older than the log start be authorised.
    public func author(ofMessageAt offset: Int64, room: RoomName, partition: Int32) async throws -> String? {
        guard let layers = try await layers(partition: partition),
            let segment = layers.valid.last(where: { $0.descriptor.from <= offset && offset < $0.descriptor.to })
        else { return nil }
        return try await SnapshotIO.run {
            guard let message = try segment.message(at: offset), message.room == room else { return nil }
            return message.from
        }
    }
}
