import ChatDomain
import Foundation

/// Where the snapshots of one log live:
/// `<root>/<topic>/<epoch>/partition-<n>/{manifest.json, seg-*.sqlite, .lock}`.
///
/// The epoch in the path keeps the snapshots of different clusters (or of a recreated topic) apart,
/// so a directory shared by mistake never mixes two logs.
public struct SnapshotDirectory: Sendable, Hashable {
    public let root: String
    public let topic: String
    public let epoch: LogEpoch

    /// The default root (`--snapshots`, `CHAT_SNAPSHOT_DIR`).
    public static let defaultRoot = "./data/snapshots"

    public init(root: String, topic: String = ChatTopics.rooms, epoch: LogEpoch) {
        self.root = root
        self.topic = topic
        self.epoch = epoch
    }

    public var logDirectory: String { "\(root)/\(topic)/\(epoch)" }

    public func partitionDirectory(_ partition: Int32) -> String { "\(logDirectory)/partition-\(partition)" }

    public func manifestPath(_ partition: Int32) -> String { "\(partitionDirectory(partition))/manifest.json" }

    public func lockPath(_ partition: Int32) -> String { "\(partitionDirectory(partition))/.lock" }

    public func segmentPath(_ partition: Int32, file: String) -> String { "\(partitionDirectory(partition))/\(file)" }

    /// A new segment's file name; the generation keeps names unique across crashes and merges.
    public static func segmentFileName(from: Int64, to: Int64, generation: Int64) -> String {
        "seg-\(padded(from))-\(padded(to))-g\(generation).sqlite"
    }

    private static func padded(_ value: Int64) -> String {
        let text = String(value)
        return String(repeating: "0", count: max(0, 20 - text.count)) + text
    }

    /// Reads a partition's manifest; `nil` when the partition has no snapshots.
    public func manifest(_ partition: Int32) throws -> PartitionManifest? {
        try PartitionManifest.load(path: manifestPath(partition), epoch: epoch, partition: partition)
    }

    /// The partitions that have a manifest.
    public func partitionsWithSnapshots() -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: logDirectory)) ?? []
        return names.compactMap { name -> Int32? in
            guard name.hasPrefix("partition-"), let partition = Int32(name.dropFirst("partition-".count)) else { return nil }
            return FileManager.default.fileExists(atPath: manifestPath(partition)) ? partition : nil
        }.sorted()
    }
}
