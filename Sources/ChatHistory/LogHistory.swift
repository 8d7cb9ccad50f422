import ChatDomain
import Kafka
import Logging

/// Reads a room's history from its partition of `chat.rooms`.
///
/// Scans a window that ends at the log end, so that edits and deletes made after the page's
/// messages are applied, and widens the window until the page is full, the log start is reached,
/// or the window spans ``scanLimit`` records: a room with few messages in a busy partition costs
/// at most that much (about 4/3 of it over the widenings, plus ``duplicateSpan`` per widening),
/// and its page then says `more` when the log holds older records.
public struct LogHistory: Sendable {
    public let reader: PartitionRangeReader
    public let admin: KafkaAdmin
    public let partitioner: RoomPartitioner
    public let duplicateSpan: Int64
    /// The most records before the log end a page or a lookup reads (the newest ones).
    public let scanLimit: Int64
    /// The membership states of a partition's rooms just before an offset, which a fold starting
    /// there needs (``PartitionLogFold``'s `roomStates`): a gateway sets the fan-out's
    /// (`Fanout.roomStates(partition:before:)`, which also knows what only snapshots hold).
    /// Without it, ``membership`` folds them from the log start.
    public var roomStates: (@Sendable (_ partition: Int32, _ before: Int64) async throws -> [RoomName: RoomState])?
    /// The room states a fold that starts after the log start is seeded with, when ``roomStates``
    /// is not set.
    public let membership: LogMembership

    public init(reader: PartitionRangeReader, admin: KafkaAdmin, partitioner: RoomPartitioner, duplicateSpan: Int64, scanLimit: Int64 = 100_000) {
        self.reader = reader
        self.admin = admin
        self.partitioner = partitioner
        self.duplicateSpan = duplicateSpan
        self.scanLimit = max(1, scanLimit)
        self.membership = LogMembership(reader: reader, duplicateSpan: duplicateSpan)
    }

    /// The newest `limit` visible messages of `room` before offset `before` (all, when `nil`).
    ///
    /// - Throws: ``HistoryScanLimitExceeded`` when `before` lies further than ``scanLimit`` records
    ///   before the log end (only snapshots serve such pages with bounded work).
    public func page(room: RoomName, before: Int64?, limit: Int) async throws -> HistoryPage {
        let partition = partitioner.partition(for: room)
        let watermarks = try await admin.watermarks(topic: reader.topic, partition: partition)
        let upper = min(before ?? watermarks.high, watermarks.high)
        let floor = max(watermarks.low, watermarks.high - scanLimit)
        guard upper > floor || upper <= watermarks.low else { throw HistoryScanLimitExceeded(scanLimit: scanLimit) }
        var window = Int64(max(limit * 20, 2000))
        while true {
            let from = max(floor, upper - window)
            let candidates = try await visibleMessages(
                room: room, partition: partition, from: from, to: watermarks.high, low: watermarks.low
            ).filter { $0.offset < upper }
            if candidates.count >= limit || from == floor {
                return HistoryPage.newest(limit, of: candidates, olderExist: from > watermarks.low)
            }
            window *= 4
        }
    }

    /// The message at `offset` of `room` as the log shows it now: `nil` when no visible post of the
    /// room is there or a later delete removed it. Folds from the message to the log end when
    /// that is at most ``scanLimit`` records; further back it reads the record alone, so a delete
    /// is not seen here (readers still ignore edits after a delete: the log rule).
    public func message(at offset: Int64, room: RoomName, partition: Int32, watermarks: KafkaWatermarks) async throws -> ChatMessage? {
        guard offset >= watermarks.low, offset < watermarks.high else { return nil }
        let to = watermarks.high - offset <= scanLimit ? watermarks.high : offset + 1
        var fold = try await roomFold(room, partition: partition, from: offset, low: watermarks.low)
        for try await record in reader.records(partition: partition, from: offset, to: to) { fold.apply(offset: record.offset, value: record.value) }
        return fold.timeline(of: room)?.message(at: offset)
    }

    /// Folds `[from, to)` of the partition into the room's visible messages posted at or after `from`.
    /// The scan starts `duplicateSpan` earlier so that retries of earlier posts are recognised.
    public func visibleMessages(room: RoomName, partition: Int32, from: Int64, to: Int64, low: Int64) async throws -> [ChatMessage] {
        let start = max(low, from - duplicateSpan)
        var fold = try await roomFold(room, partition: partition, from: start, low: low)
        for try await record in reader.records(partition: partition, from: start, to: to) { fold.apply(offset: record.offset, value: record.value) }
        return (fold.timeline(of: room)?.visibleMessages ?? []).filter { $0.offset >= from }
    }

    /// The log fold history reads with: the room's messages kept, its window cold at `from`, the
    /// room states those at `from`.
    func roomFold(_ room: RoomName, partition: Int32, from: Int64, low: Int64) async throws -> PartitionLogFold {
        let all: [RoomName: RoomState]
        if let roomStates {
            all = try await roomStates(partition, from)
        } else {
            all = try await membership.states(partition: partition, before: from, low: low)
        }
        // Only the room's own state matters to a fold that reports the room alone.
        let states = all.filter { $0.key == room }
        return PartitionLogFold(partition: partition, from: from, span: duplicateSpan, roomStates: states, rooms: .only(room), keepsMessages: true)
    }
}

/// A page was asked for further back than ``LogHistory/scanLimit`` records before the log end.
public struct HistoryScanLimitExceeded: Error, Sendable {
    public let scanLimit: Int64
    /// The membership states of a partition's rooms just before an offset, which a fold starting
    /// there needs (``PartitionLogFold``'s `roomStates`): a gateway sets the fan-out's
    /// (`Fanout.roomStates(partition:before:)`). Without it, folds start with no room states, which
    /// is right only from the log's first offset.
    public var roomStates: (@Sendable (_ partition: Int32, _ before: Int64) async throws -> [RoomName: RoomState])?
}
