import NIOPosix

/// Threads for snapshot work that blocks (SQLite reads and writes, hashing, fsync), so that it
/// never occupies Swift's cooperative thread pool.
public enum SnapshotIO {
    static let threadPool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        return pool
    }()

    /// Runs `body` on a snapshot I/O thread and returns its result.
    public static func run<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
        try await threadPool.runIfActive(body)
    }
}
