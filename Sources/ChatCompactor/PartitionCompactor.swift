import ChatDomain
import ChatHistory
import Foundation
import Kafka
import Logging

/// Folds one partition's records into segments and keeps its manifest: the only writer of the
/// partition's snapshot directory while it holds the directory's lock.
///
/// Used by one task at a time (the compactor's actor or a pass); not thread-safe on its own.
final class PartitionCompactor: @unchecked Sendable {
    let partition: Int32
    let directory: SnapshotDirectory
    let configuration: CompactorConfiguration
    let logger: Logger
    private let lock: FileLock
    private(set) var manifest: PartitionManifest
    private(set) var fold: SegmentFold
    private var pendingSince: ContinuousClock.Instant?
    private var released = false

    /// What ``apply(offset:value:)`` did with a record.
    enum Outcome: Equatable {
        case applied
        /// Already covered (a record from before the consumer's seek, or re-delivered).
        case skipped
        /// After the next expected offset: records in between are missing (see ``Compactor``).
        case ahead(expected: Int64)
    }

    private init(
        partition: Int32, directory: SnapshotDirectory, configuration: CompactorConfiguration, logger: Logger, lock: FileLock,
        manifest: PartitionManifest, fold: SegmentFold
    ) {
        self.partition = partition
        self.directory = directory
        self.configuration = configuration
        self.logger = logger
        self.lock = lock
        self.manifest = manifest
        self.fold = fold
    }

    /// Takes the partition's lock, loads its manifest, removes files a crash left behind, and
    /// prepares to fold from the end of what the manifest covers (or from the log start).
    ///
    /// A last segment that fails verification is dropped when the log still holds its range (it
    /// is folded again); otherwise opening fails loudly.
    static func open(
        partition: Int32, directory: SnapshotDirectory, configuration: CompactorConfiguration, watermarks: KafkaWatermarks,
        logger: Logger
    ) async throws -> PartitionCompactor {
        let path = directory.partitionDirectory(partition)
        let lock = try await SnapshotIO.run { () -> FileLock in
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            return try FileLock(path: directory.lockPath(partition))
        }
        do {
            var manifest =
                try await SnapshotIO.run { try directory.manifest(partition) }
                ?? PartitionManifest(
                    topic: configuration.topic, epoch: directory.epoch, partition: partition, duplicateSpan: configuration.duplicateSpan)
            guard manifest.duplicateSpan == configuration.duplicateSpan else {
                throw SnapshotError.incompatible(
                    "\(directory.manifestPath(partition)) was folded with duplicate span \(manifest.duplicateSpan), this compactor uses \(configuration.duplicateSpan); use the same span as the gateways"
                )
            }
            if let end = manifest.coveredEnd, end > watermarks.high {
                throw SnapshotError.incompatible(
                    "\(directory.manifestPath(partition)) covers offsets up to \(end) but the log ends at \(watermarks.high): it belongs to another log; move \(directory.logDirectory) away"
                )
            }
            var window: [WindowEntry] = []
            while let last = manifest.segments.last {
                do {
                    window = try await SnapshotIO.run {
                        try SegmentReader.open(
                            path: directory.segmentPath(partition, file: last.file), descriptor: last, partition: partition, epoch: directory.epoch
                        )
                        .window()
                    }
                    break
                } catch let error as SnapshotError {
                    guard case .corruptSegment = error, watermarks.low <= last.from else { throw error }
                    logger.error("dropping a corrupt segment the log still covers; it is folded again", metadata: ["error": "\(error)"])
                    manifest.segments.removeLast()
                    manifest.generation += 1
                    let replacement = manifest
                    try await SnapshotIO.run { try replacement.write(to: directory) }
                }
            }
            let start = manifest.coveredEnd ?? watermarks.low
            let roomStates = try await membershipStates(of: manifest, partition: partition, directory: directory)
            if manifest.segments.isEmpty, start > 0 {
                logger.warning(
                    "compacting from the log start: membership events retention deleted before are lost, rooms created earlier look public",
                    metadata: ["partition": "\(partition)", "from": "\(start)"])
            }
            let compactor = PartitionCompactor(
                partition: partition, directory: directory, configuration: configuration, logger: logger, lock: lock, manifest: manifest,
                fold: SegmentFold(from: start, span: configuration.duplicateSpan, window: window, roomStates: roomStates, partition: partition))
            try await compactor.collectGarbage()
            return compactor
        } catch {
            lock.release()
            throw error
        }
    }

    /// Every room's state where the manifest ends, from the membership events of all its segments.
    ///
    /// - Throws: ``SnapshotError`` when a segment cannot be read: folding on with a room's state
    ///   unknown would write wrong verdicts into every later segment.
    private static func membershipStates(of manifest: PartitionManifest, partition: Int32, directory: SnapshotDirectory) async throws
        -> [RoomName: RoomState]
    {
        let segments = manifest.segments
        return try await SnapshotIO.run {
            var journal = MembershipJournal(partition: partition)
            for descriptor in segments {
                let reader = try SegmentReader.open(
                    path: directory.segmentPath(partition, file: descriptor.file), descriptor: descriptor, partition: partition,
                    epoch: directory.epoch)
                defer { reader.close() }
                for event in try reader.membershipEvents() { journal.append(event) }
            }
            return journal.current
        }
    }

    /// The next offset to fold.
    var expectedOffset: Int64 { fold.to }

    var pendingRecords: Int { fold.recordCount }

    func apply(offset: Int64, value: [UInt8]) -> Outcome {
        if offset < fold.to { return .skipped }
        if offset > fold.to { return .ahead(expected: fold.to) }
        if pendingSince == nil { pendingSince = .now }
        fold.apply(offset: offset, value: value)
        return .applied
    }

    /// Continues after records the log lost: what is folded is written first, so no segment
    /// claims offsets it never saw. The window is kept, as gateways keep theirs.
    func skipLostRecords(to offset: Int64) async throws -> Int64? {
        let written = try await flush()
        logger.error(
            "the log lost records before the compactor folded them: history has a gap",
            metadata: ["partition": "\(partition)", "from": "\(fold.to)", "to": "\(offset)"])
        // The states are kept too: the lost records' membership changes are unknown, as are their posts.
        fold = SegmentFold(from: offset, span: configuration.duplicateSpan, window: fold.window, roomStates: fold.roomStates, partition: partition)
        return written
    }

    func flushIsDue(now: ContinuousClock.Instant = .now) -> Bool {
        configuration.policy.shouldFlush(pendingRecords: fold.recordCount, pendingFor: pendingSince.map { now - $0 } ?? .zero)
    }

    /// Writes the pending records as a segment, merges, and replaces the manifest.
    /// - Returns: the offset the manifest now covers up to (to commit), or `nil` when nothing was pending.
    func flush() async throws -> Int64? {
        guard !fold.isEmpty else { return nil }
        let contents = fold.contents()
        var next = manifest
        next.generation += 1
        let generation = next.generation
        let header = SegmentFile.Header(
            topic: configuration.topic, epoch: directory.epoch, partition: partition, from: contents.from, to: contents.to,
            duplicateSpan: configuration.duplicateSpan, level: 0)
        next.segments.append(
            try await writeSegment(header: header, generation: generation) { path in
                try SegmentFile.write(contents, header: header, to: path)
            })
        try configuration.crashHook?(.segmentWritten, partition)
        while let run = configuration.policy.nextMerge(next.segments) {
            let inputs = Array(next.segments[run])
            let mergeHeader = SegmentFile.Header(
                topic: configuration.topic, epoch: directory.epoch, partition: partition, from: inputs[0].from, to: inputs[inputs.count - 1].to,
                duplicateSpan: configuration.duplicateSpan, level: inputs[0].level + 1)
            let paths = inputs.map { self.directory.segmentPath(self.partition, file: $0.file) }
            try await verify(inputs)
            let merged = try await writeSegment(header: mergeHeader, generation: generation) { path in
                try SegmentFile.merge(inputs: paths, header: mergeHeader, to: path)
            }
            try configuration.crashHook?(.mergeWritten, partition)
            next.segments.replaceSubrange(run, with: [merged])
        }
        let replacement = next
        let folder = directory
        let hook = configuration.crashHook
        let owner = partition
        try await SnapshotIO.run { try replacement.write(to: folder) { try hook?(.manifestWritten, owner) } }
        manifest = next
        fold = SegmentFold(
            from: contents.to, span: configuration.duplicateSpan, window: contents.window, roomStates: fold.roomStates, partition: partition)
        pendingSince = nil
        try configuration.crashHook?(.manifestReplaced, partition)
        return contents.to
    }

    /// Deletes files the manifest does not list (merge inputs, work a crash interrupted).
    func collectGarbage() async throws {
        let listed = Set(manifest.segments.map(\.file))
        let path = directory.partitionDirectory(partition)
        try await SnapshotIO.run {
            for name in try FileManager.default.contentsOfDirectory(atPath: path) {
                let stale = (name.hasPrefix("seg-") && !listed.contains(name)) || name.hasSuffix(".tmp")
                if stale { try? FileManager.default.removeItem(atPath: "\(path)/\(name)") }
            }
        }
    }

    /// Releases the lock; unflushed records are dropped (the next owner folds them again).
    func release() {
        guard !released else { return }
        released = true
        lock.release()
    }

    private func verify(_ segments: [SegmentDescriptor]) async throws {
        let directory = self.directory
        let partition = self.partition
        try await SnapshotIO.run {
            for segment in segments {
                _ = try SegmentReader.open(
                    path: directory.segmentPath(partition, file: segment.file), descriptor: segment, partition: partition, epoch: directory.epoch)
            }
        }
    }

    /// Builds a segment under a temporary name, then renames it into place durably.
    private func writeSegment(header: SegmentFile.Header, generation: Int64, _ build: @escaping @Sendable (String) throws -> SegmentFile.Summary)
        async throws -> SegmentDescriptor
    {
        let file = SnapshotDirectory.segmentFileName(from: header.from, to: header.to, generation: generation)
        let path = directory.segmentPath(partition, file: file)
        let folder = directory.partitionDirectory(partition)
        let summary = try await SnapshotIO.run {
            let summary = try build(path + ".tmp")
            try DurableFiles.rename(path + ".tmp", to: path)
            try DurableFiles.fsyncDirectory(folder)
            return summary
        }
        return SegmentDescriptor(
            file: file, from: header.from, to: header.to, level: header.level, sha256: summary.sha256, bytes: summary.bytes,
            messages: summary.messages, amendments: summary.amendments)
    }
}
