import ChatDomain
import Kafka
import Logging

/// Reads a room's history from its partition of `chat.rooms`.
///
/// Scans a window that ends at the log end, so that edits and deletes made after the page's
/// messages are applied, and widens the window until the page is full or the log start is reached.
public struct LogHistory: Sendable {
    public let reader: PartitionRangeReader
    public let admin: KafkaAdmin
    public let partitioner: RoomPartitioner
    public let duplicateSpan: Int64

    public init(reader: PartitionRangeReader, admin: KafkaAdmin, partitioner: RoomPartitioner, duplicateSpan: Int64) {
        self.reader = reader
        self.admin = admin
        self.partitioner = partitioner
        self.duplicateSpan = duplicateSpan
    }

    /// The newest `limit` visible messages of `room` before offset `before` (all, when `nil`).
    public func page(room: RoomName, before: Int64?, limit: Int) async throws -> HistoryPage {
        let partition = partitioner.partition(for: room)
        let watermarks = try await admin.watermarks(topic: reader.topic, partition: partition)
        let upper = min(before ?? watermarks.high, watermarks.high)
        var window = Int64(max(limit * 20, 2000))
        while true {
            let from = max(watermarks.low, upper - window)
            let candidates = try await visibleMessages(
                room: room, partition: partition, from: from, to: watermarks.high, low: watermarks.low
            ).filter { $0.offset < upper }
            if candidates.count >= limit || from == watermarks.low {
                return HistoryPage.newest(limit, of: candidates, olderExist: from > watermarks.low)
            }
            window *= 4
        }
    }

    /// Folds `[from, to)` of the partition into the room's visible messages posted at or after `from`.
    /// The scan starts `duplicateSpan` earlier so that retries of earlier posts are recognised.
    public func visibleMessages(room: RoomName, partition: Int32, from: Int64, to: Int64, low: Int64) async throws -> [ChatMessage] {
        let fold = RoomFold(room: room, partition: partition, span: duplicateSpan)
        try await reader.read(partition: partition, from: max(low, from - duplicateSpan), to: to) { record in
            fold.apply(record)
        }
        return fold.messages(from: from)
    }
}

/// A room timeline and the partition's duplicate window, filled from raw records.
public final class RoomFold: @unchecked Sendable {
    // Confined to the reader's single task; the class only lets the read closure mutate it.
    private var timeline: RoomTimeline
    private var duplicates: DuplicateWindow
    private let partition: Int32

    public init(room: RoomName, partition: Int32, span: Int64) {
        self.timeline = RoomTimeline(room: room)
        self.duplicates = DuplicateWindow(span: span)
        self.partition = partition
    }

    /// Applies one record of the partition; events of other rooms only feed the duplicate window.
    @discardableResult
    public func apply(_ record: KafkaRecord) -> (LoggedRoomEvent, RoomTimeline.Outcome)? {
        guard let event = RoomEvent(decoding: record.value) else { return nil }
        let logged = LoggedRoomEvent(event: event, partition: partition, offset: record.offset)
        var verdict: DuplicateWindow.Original?
        if case .message(let cmid, _) = event.kind {
            verdict = duplicates.admit(
                .init(room: event.room.value, user: event.from, cmid: cmid), offset: record.offset, timestamp: event.timestamp)
        }
        guard event.room == timeline.room else { return nil }
        return (logged, timeline.apply(logged, duplicateOf: verdict))
    }

    public func messages(from offset: Int64) -> [ChatMessage] {
        timeline.visibleMessages.filter { $0.offset >= offset }
    }
}
