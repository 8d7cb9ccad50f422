import ChatDomain
import Kafka
import Logging

/// A room's history from snapshots plus the log tail after the last covered offset, so it stays
/// complete after retention deleted the covered part of the log. Without snapshots for the room's
/// partition it is the log-only ``LogHistory``.
public struct SnapshotHistory: Sendable {
    public let store: SnapshotStore
    public let log: LogHistory
    let logger: Logger

    public init(store: SnapshotStore, log: LogHistory, logger: Logger = Logger(label: "chat.history.snapshots")) {
        self.store = store
        self.log = log
        self.logger = logger
    }

    /// Whether the room's partition has snapshot segments (then history may reach past the log start).
    public func hasSnapshots(room: RoomName) async -> Bool {
        let manifest = try? await store.manifest(partition: log.partitioner.partition(for: room))
        return manifest?.segments.isEmpty == false
    }

    /// The newest `limit` visible messages of `room` before offset `before` (all, when `nil`).
    public func page(room: RoomName, before: Int64?, limit: Int) async throws -> HistoryPage {
        let partition = log.partitioner.partition(for: room)
        let watermarks = try await log.admin.watermarks(topic: log.reader.topic, partition: partition)
        guard let view = try await view(room: room, partition: partition, watermarks: watermarks) else {
            return try await log.page(room: room, before: before, limit: limit)
        }
        let upper = min(before ?? watermarks.high, watermarks.high)
        return try await SnapshotIO.run { try view.page(before: upper, limit: limit) }
    }

    /// The room's history as layers: valid snapshot segments, then the room's fold of the log
    /// from where they end to `watermarks.high`. `nil` when the partition has no snapshots (or only
    /// invalid ones the log still covers): read the log alone then.
    ///
    /// - Throws: ``SnapshotError`` when a segment is corrupt and the log no longer holds its
    ///   range, or when the snapshots do not belong to this log; never a silently shorter history.
    public func view(room: RoomName, partition: Int32, watermarks: KafkaWatermarks) async throws -> RoomHistoryView? {
        guard let layers = try await store.layers(partition: partition) else { return nil }
        if let end = layers.manifest.coveredEnd, end > watermarks.high {
            throw SnapshotError.incompatible(
                "snapshots of \(log.reader.topic)[\(partition)] cover offsets up to \(end) but the log ends at \(watermarks.high): "
                    + "they were written from another log; point --snapshots at this cluster's snapshots or move \(store.directory.logDirectory) away"
            )
        }
        if let invalid = layers.firstInvalid, let failure = layers.failure {
            guard watermarks.low <= invalid.from else { throw failure }
            logger.error(
                "reading history from the log instead of a corrupt snapshot segment",
                metadata: ["partition": "\(partition)", "error": "\(failure)"])
        }
        guard let last = layers.valid.last else { return nil }
        let tailFrom = last.descriptor.to
        if tailFrom < watermarks.low {
            logger.warning(
                "history has a gap: the log lost offsets before the compactor folded them",
                metadata: ["partition": "\(partition)", "from": "\(tailFrom)", "to": "\(watermarks.low)"])
        }
        let (window, membership) = try await SnapshotIO.run { (try last.window(), try layers.membership()) }
        // The room's state at the tail's start comes from every membership event the snapshots
        // kept: its creation may be long past the log start.
        let tail = try await foldTail(
            room: room, partition: partition, from: tailFrom, to: watermarks.high, low: watermarks.low, window: window,
            roomStates: membership?.states(partition: partition) ?? [:])
        let segments: [any RoomLayer] = layers.valid.map { SegmentRoomLayer(reader: $0, room: room.value) }
        return try await SnapshotIO.run { try RoomHistoryView(room: room, layers: segments + [MemoryRoomLayer(contents: tail, room: room.value)]) }
    }

    /// Folds the room's records of `from..<to` (the window and room states being the ones at
    /// `from`; empty states only when `from` is the log's first offset, or when the snapshots
    /// that held the earlier membership events are gone).
    public func foldTail(
        room: RoomName, partition: Int32, from: Int64, to: Int64, low: Int64, window: [WindowEntry], roomStates: [RoomName: RoomState] = [:]
    ) async throws -> SegmentContents {
        var fold = SegmentFold(from: from, span: log.duplicateSpan, window: window, roomStates: roomStates, room: room, partition: partition)
        for try await record in log.reader.records(partition: partition, from: max(from, low), to: to) {
            fold.apply(offset: record.offset, value: record.value)
        }
        return fold.contents()
    }
}
