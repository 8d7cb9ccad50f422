import ChatDomain
import Foundation
import Synchronization

/// Read access to the history snapshots of one log, shared by a process's readers.
///
/// Segments are immutable, so each is verified (SHA-256 against its manifest entry) once per
/// process and its connection kept; manifests are re-read on every use, since the compactor
/// replaces them.
public final class SnapshotStore: Sendable {
    public let directory: SnapshotDirectory
    private let readers = Mutex<[String: SegmentReader]>([:])
    private static let cachedReaders = 512

    public init(directory: SnapshotDirectory) {
        self.directory = directory
    }

    /// The partition's manifest, `nil` when it has no snapshots.
    public func manifest(partition: Int32) async throws -> PartitionManifest? {
        let directory = self.directory
        return try await SnapshotIO.run { try directory.manifest(partition) }
    }

    /// A verified reader of a segment listed in the partition's manifest.
    public func segment(_ descriptor: SegmentDescriptor, partition: Int32) async throws -> SegmentReader {
        let path = directory.segmentPath(partition, file: descriptor.file)
        let key = "\(path)#\(descriptor.sha256)"
        if let cached = readers.withLock({ $0[key] }) { return cached }
        let epoch = directory.epoch
        let reader = try await SnapshotIO.run { try SegmentReader.open(path: path, descriptor: descriptor, partition: partition, epoch: epoch) }
        readers.withLock { readers in
            if readers.count >= Self.cachedReaders, let victim = readers.keys.first { readers[victim] = nil }
            readers[key] = reader
        }
        return reader
    }

    /// Whether the manifest's segments cover `from..<to` without a gap.
    public func covers(partition: Int32, from: Int64, to: Int64) async -> Bool {
        guard let manifest = try? await manifest(partition: partition) else { return false }
        return manifest.coversContiguously(from: from, to: to)
    }

    /// The partition's valid snapshot layers: the manifest's segments in order, up to the first one
    /// that fails verification.
    ///
    /// A reader that raced a merge (the compactor deleted a file the manifest it read still listed)
    /// reads the manifest again once.
    public func layers(partition: Int32) async throws -> SnapshotLayers? {
        for attempt in 0..<2 {
            guard let manifest = try await manifest(partition: partition), !manifest.segments.isEmpty else { return nil }
            var readers: [SegmentReader] = []
            var failure: SnapshotError?
            for descriptor in manifest.segments {
                do {
                    readers.append(try await segment(descriptor, partition: partition))
                } catch let error as SnapshotError {
                    failure = error
                    break
                }
            }
            if case .corruptSegment(_, let reason) = failure, reason == "the file is missing", attempt == 0,
                let again = try? await self.manifest(partition: partition), again.generation != manifest.generation
            {
                continue
            }
            return SnapshotLayers(manifest: manifest, valid: readers, failure: failure)
        }
        return nil
    }
}

/// What a reader found in a partition's snapshots.
public struct SnapshotLayers: Sendable {
    public let manifest: PartitionManifest
    /// The verified segments, a prefix of the manifest's list.
    public let valid: [SegmentReader]
    /// Why the segment after ``valid`` could not be used, if one could not.
    public let failure: SnapshotError?

    /// Where the valid prefix ends: the log must supply everything from here.
    public var validEnd: Int64? { valid.last?.descriptor.to }

    /// The first segment that failed verification.
    public var firstInvalid: SegmentDescriptor? {
        failure == nil ? nil : manifest.segments[valid.count]
    }
}

extension SnapshotLayers {
    /// The duplicate window at `offset`: the visible posts of the partition in the `span` offsets
    /// before it, as a window fed the whole log would hold them; `nil` when the valid segments do
    /// not reach `offset`. Blocks (SQLite): call it from ``SnapshotIO``.
    public func window(at offset: Int64, span: Int64) throws -> [WindowEntry]? {
        guard let first = valid.first, let last = valid.last, offset >= first.descriptor.from, offset <= last.descriptor.to else { return nil }
        if offset == last.descriptor.to { return try last.window() }
        guard let index = valid.firstIndex(where: { $0.descriptor.from <= offset && offset < $0.descriptor.to }) else { return nil }
        let segment = valid[index]
        // The window at the segment's start is the previous segment's window at its end.
        var base: [WindowEntry] = []
        if index > 0, valid[index - 1].descriptor.to == segment.descriptor.from {
            base = try valid[index - 1].window()
        }
        let floor = offset - span
        return (base + (try segment.posts(from: segment.descriptor.from, to: offset))).filter { $0.offset >= floor }
    }
}
