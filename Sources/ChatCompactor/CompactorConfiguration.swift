import ChatDomain
import ChatHistory
import Kafka

/// Settings of the compactor, continuous or one pass.
public struct CompactorConfiguration: Sendable {
    /// Consumer settings (bootstrap servers, TLS / SASL, `fetch.wait.max.ms`).
    public var kafka: KafkaConfiguration
    public var topic: String = ChatTopics.rooms
    /// Consumer group under which the compactor commits what its manifests cover.
    public var groupID: String = ChatConsumerGroups.compactor
    /// Root of the snapshot directory (`--snapshots`).
    public var snapshotRoot: String
    /// Must equal the gateways' duplicate span: the compactor judges retries by the same rule.
    public var duplicateSpan: Int64 = 10_000
    public var policy = CompactionPolicy()
    /// Called at the points where a crash would leave partial work, so tests can stop there.
    public var crashHook: CrashHook?

    public init(kafka: KafkaConfiguration, snapshotRoot: String) {
        self.kafka = kafka
        self.snapshotRoot = snapshotRoot
    }
}

/// When a partition's folded records become a segment, and when segments merge.
public struct CompactionPolicy: Sendable, Equatable {
    /// A segment is written once this many records are pending...
    public var maxPendingRecords: Int = 50_000
    /// ...or once the oldest pending record waited this long.
    public var maxPendingAge: Duration = .seconds(5)
    /// This many consecutive segments of one level at the end of the list merge into one of the next level.
    public var mergeFanIn: Int = 4

    public init() {}

    public func shouldFlush(pendingRecords: Int, pendingFor age: Duration) -> Bool {
        pendingRecords > 0 && (pendingRecords >= maxPendingRecords || age >= maxPendingAge)
    }

    /// The segments to merge next, or `nil`: the last `mergeFanIn` segments when they share a
    /// level and are contiguous. Merging only at the end keeps the list ordered by level, like a
    /// counter in base `mergeFanIn`, so every record is rewritten about log(n) times.
    public func nextMerge(_ segments: [SegmentDescriptor]) -> Range<Int>? {
        guard mergeFanIn >= 2, segments.count >= mergeFanIn else { return nil }
        let run = (segments.count - mergeFanIn)..<segments.count
        let level = segments[run.lowerBound].level
        for index in run {
            guard segments[index].level == level else { return nil }
            if index > run.lowerBound, segments[index - 1].to != segments[index].from { return nil }
        }
        return run
    }
}

/// Where a compactor can stop with partial work on disk (test hook).
public enum CrashPoint: String, Sendable, CaseIterable {
    /// A new segment file is in place; the manifest does not list it yet.
    case segmentWritten
    /// A merged segment file is in place; the manifest still lists its inputs.
    case mergeWritten
    /// The new manifest is written and fsynced under its temporary name, not renamed yet.
    case manifestWritten
    /// The new manifest replaced the old one; the consumer offsets are not committed yet.
    case manifestReplaced
    /// Offsets are committed; files the new manifest no longer lists are not deleted yet.
    case offsetsCommitted
}

/// Throws to make the compactor stop at a ``CrashPoint`` as if the process died there.
public typealias CrashHook = @Sendable (CrashPoint, _ partition: Int32) throws -> Void
