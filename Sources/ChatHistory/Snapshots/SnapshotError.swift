/// Why snapshots could not be read or written. Each message says what to do next.
public enum SnapshotError: Error, Sendable, CustomStringConvertible, Equatable {
    /// A file-system call failed.
    case io(String)
    /// Another compactor holds the partition's lock file.
    case locked(String)
    /// A segment's bytes do not match the checksum its manifest recorded, or it cannot be read.
    case corruptSegment(path: String, reason: String)
    /// A manifest cannot be parsed or contradicts itself.
    case corruptManifest(path: String, reason: String)
    /// Snapshots written with other settings (format, duplicate span, log epoch).
    case incompatible(String)
    /// Part of the history is neither in valid snapshots nor in the log any more.
    case historyLost(String)

    public var description: String {
        switch self {
        case .io(let message):
            "snapshot I/O error: \(message); check the snapshot directory's permissions and free space"
        case .locked(let path):
            "another compactor holds \(path); run one compactor per snapshot directory (stop the other, or let it keep the snapshots current)"
        case .corruptSegment(let path, let reason):
            "snapshot segment \(path) is corrupt (\(reason)); restore it from a backup, or delete the partition's manifest.json so the compactor rebuilds it from the log while the log still holds that range"
        case .corruptManifest(let path, let reason):
            "snapshot manifest \(path) is unreadable (\(reason)); restore it from a backup, or delete it so the compactor rebuilds the partition from the log"
        case .incompatible(let message):
            "incompatible snapshots: \(message)"
        case .historyLost(let message):
            "history unavailable: \(message)"
        }
    }
}
