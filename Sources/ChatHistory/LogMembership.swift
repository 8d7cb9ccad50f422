import ChatDomain
import Kafka
import Synchronization

/// Room states at any offset of a partition, for readers that have no snapshots: the partition's
/// membership events folded from the log start, remembered per partition and extended when a
/// reader asks for a later offset, so the log before a page is read once per process rather than
/// once per page (membership events are few; messages are not kept).
///
/// What retention deleted before the first read is unknown here: a room created before the log
/// start looks never created (public). Only snapshots keep those events, which is why the
/// compactor must keep up with retention (its lag alerts say when it does not).
public final class LogMembership: Sendable {
    private struct Known: Sendable {
        var journal: MembershipJournal
        /// The first offset not folded into the journal.
        var to: Int64
    }

    public let reader: PartitionRangeReader
    public let duplicateSpan: Int64
    private let known = Mutex<[Int32: Known]>([:])

    public init(reader: PartitionRangeReader, duplicateSpan: Int64) {
        self.reader = reader
        self.duplicateSpan = duplicateSpan
    }

    /// Every room's state just before `offset` of `partition`, whose log starts at `low`.
    public func states(partition: Int32, before offset: Int64, low: Int64) async throws -> [RoomName: RoomState] {
        let cached = known.withLock { $0[partition] }
        if let cached, cached.to >= offset { return cached.journal.states(before: offset) }
        var journal = cached?.journal ?? MembershipJournal(partition: partition)
        let start = max(cached?.to ?? low, low)
        guard start < offset else { return journal.current }
        var fold = PartitionLogFold(
            partition: partition, from: start, span: duplicateSpan, roomStates: journal.current, keepsMembershipEvents: true)
        for try await record in reader.records(partition: partition, from: start, to: offset) {
            fold.apply(offset: record.offset, value: record.value)
        }
        for event in fold.membershipEvents { journal.append(event) }
        let extended = Known(journal: journal, to: offset)
        known.withLock { known in
            if (known[partition]?.to ?? Int64.min) < offset { known[partition] = extended }
        }
        return journal.current
    }
}
