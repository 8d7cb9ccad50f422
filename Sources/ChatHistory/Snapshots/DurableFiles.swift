import Crypto
import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The file-system steps that make snapshot writes crash-safe. Every call blocks: run them on a
/// thread pool (``SnapshotIO``), never on the cooperative pool.
public enum DurableFiles {
    /// Flushes a file's data and metadata to stable storage.
    public static func fsync(path: String) throws {
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw SnapshotError.io("cannot open \(path) to fsync it: \(errnoText())") }
        defer { close(descriptor) }
        guard Glibc.fsync(descriptor) == 0 else { throw SnapshotError.io("fsync of \(path) failed: \(errnoText())") }
    }

    /// Flushes a directory, so that the renames and creations in it survive a crash.
    public static func fsyncDirectory(_ path: String) throws {
        let descriptor = open(path, O_RDONLY | O_DIRECTORY)
        guard descriptor >= 0 else { throw SnapshotError.io("cannot open directory \(path): \(errnoText())") }
        defer { close(descriptor) }
        guard Glibc.fsync(descriptor) == 0 else { throw SnapshotError.io("fsync of directory \(path) failed: \(errnoText())") }
    }

    /// Replaces `path` with `data` atomically: write a temporary file, fsync it, rename it over
    /// `path`, fsync the directory. A crash leaves either the old or the new content.
    public static func replaceAtomically(_ path: String, with data: Data, beforeRename: () throws -> Void = {}) throws {
        let temporary = path + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: data) else {
            throw SnapshotError.io("cannot write \(temporary): \(errnoText())")
        }
        try fsync(path: temporary)
        try beforeRename()
        try rename(temporary, to: path)
        try fsyncDirectory((path as NSString).deletingLastPathComponent)
    }

    public static func rename(_ source: String, to destination: String) throws {
        guard Glibc.rename(source, destination) == 0 else {
            throw SnapshotError.io("cannot rename \(source) to \(destination): \(errnoText())")
        }
    }

    /// SHA-256 (lowercase hex) and size of a file, read in chunks.
    public static func sha256(path: String) throws -> (hex: String, bytes: Int64) {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw SnapshotError.io("cannot read \(path)") }
        defer { try? handle.close() }
        var hasher = SHA256()
        var total: Int64 = 0
        while true {
            let chunk = try handle.read(upToCount: 1 << 20) ?? Data()
            if chunk.isEmpty { break }
            hasher.update(data: chunk)
            total += Int64(chunk.count)
        }
        let hex = hasher.finalize().map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
        return (hex, total)
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}

/// An exclusive advisory lock (`flock`) on a file, held until ``release()``.
///
/// `flock` locks belong to the open file description, so two holders conflict even inside one
/// process: one compactor per partition directory, whoever runs it.
public final class FileLock: Sendable {
    private let descriptor: Mutex<Int32>
    public let path: String

    /// Takes the lock or throws at once when someone else holds it.
    public init(path: String) throws {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw SnapshotError.io("cannot open lock file \(path): \(DurableFiles.errnoText())") }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            close(descriptor)
            throw SnapshotError.locked(path)
        }
        self.descriptor = Mutex(descriptor)
        self.path = path
    }

    /// Releases the lock; later calls do nothing.
    public func release() {
        descriptor.withLock { descriptor in
            guard descriptor >= 0 else { return }
            flock(descriptor, LOCK_UN)
            close(descriptor)
            descriptor = -1
        }
    }

    deinit { release() }
}
