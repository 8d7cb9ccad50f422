import ChatDomain
import Foundation

/// One immutable segment file as the manifest lists it.
public struct SegmentDescriptor: Codable, Sendable, Equatable {
    /// File name, relative to the partition's directory.
    public var file: String
    /// First offset covered.
    public var from: Int64
    /// First offset not covered.
    public var to: Int64
    /// Merge level: 0 for a segment folded from the log, n + 1 for a merge of level-n segments.
    public var level: Int
    /// SHA-256 of the whole file (lowercase hex): `sha256sum` prints the same.
    public var sha256: String
    public var bytes: Int64
    public var messages: Int
    public var amendments: Int

    public init(file: String, from: Int64, to: Int64, level: Int, sha256: String, bytes: Int64, messages: Int, amendments: Int) {
        self.file = file
        self.from = from
        self.to = to
        self.level = level
        self.sha256 = sha256
        self.bytes = bytes
        self.messages = messages
        self.amendments = amendments
    }
}

/// The list of a partition's segments. It is the only thing that makes a segment part of the
/// history: it is replaced atomically, so a crash leaves the previous list valid.
public struct PartitionManifest: Codable, Sendable, Equatable {
    public static let currentFormat = 1

    public var format: Int
    public var topic: String
    /// The log epoch (``LogEpoch``) of the log the segments were folded from.
    public var epoch: String
    public var partition: Int32
    /// The ``DuplicateWindow`` span the segments were judged with.
    public var duplicateSpan: Int64
    /// Incremented on every replacement.
    public var generation: Int64
    /// Offset order; ranges never overlap. A gap means the log lost records before they were folded.
    public var segments: [SegmentDescriptor]

    public init(topic: String, epoch: LogEpoch, partition: Int32, duplicateSpan: Int64) {
        self.format = Self.currentFormat
        self.topic = topic
        self.epoch = epoch.description
        self.partition = partition
        self.duplicateSpan = duplicateSpan
        self.generation = 0
        self.segments = []
    }

    /// The first offset after the last segment: where the log tail starts.
    public var coveredEnd: Int64? { segments.last?.to }

    /// The first offset of the first segment.
    public var coveredStart: Int64? { segments.first?.from }

    /// Whether the segments cover `from..<to` without a gap.
    public func coversContiguously(from: Int64, to: Int64) -> Bool {
        guard from < to else { return true }
        var next = from
        for segment in segments where segment.to > next {
            guard segment.from <= next else { return false }
            next = segment.to
            if next >= to { return true }
        }
        return false
    }

    func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }

    /// Reads a manifest; `nil` when none exists.
    public static func load(path: String, epoch: LogEpoch, partition: Int32) throws -> PartitionManifest? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SnapshotError.corruptManifest(path: path, reason: "cannot read it")
        }
        let manifest: PartitionManifest
        do {
            manifest = try JSONDecoder().decode(PartitionManifest.self, from: data)
        } catch {
            throw SnapshotError.corruptManifest(path: path, reason: "not a valid manifest: \(error)")
        }
        guard manifest.format <= currentFormat else {
            throw SnapshotError.incompatible("\(path) has format \(manifest.format); this build reads up to \(currentFormat): upgrade it")
        }
        guard manifest.epoch == epoch.description, manifest.partition == partition else {
            throw SnapshotError.corruptManifest(
                path: path, reason: "it belongs to epoch \(manifest.epoch) partition \(manifest.partition), not \(epoch) partition \(partition)")
        }
        var previousEnd = Int64.min
        for segment in manifest.segments {
            guard segment.from < segment.to, segment.from >= previousEnd, !segment.file.contains("/") else {
                throw SnapshotError.corruptManifest(path: path, reason: "segment \(segment.file) overlaps or has an empty range")
            }
            previousEnd = segment.to
        }
        return manifest
    }
}

extension PartitionManifest {
    /// Replaces the partition's manifest atomically (temporary file, fsync, rename, fsync of the
    /// directory). `beforeRename` runs once the temporary file is durable.
    public func write(to directory: SnapshotDirectory, beforeRename: () throws -> Void = {}) throws {
        try DurableFiles.replaceAtomically(directory.manifestPath(partition), with: try encoded(), beforeRename: beforeRename)
    }
}
