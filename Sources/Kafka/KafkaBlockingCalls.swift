import NIOPosix

/// Runs librdkafka calls that block (metadata, watermark queries, committed offsets, flush, destroy)
/// on threads of their own, so they never occupy Swift's cooperative thread pool.
enum KafkaBlockingCalls {
    /// Shared by every client of the process; calls are short but may wait for a broker up to
    /// their timeout, so there are a few threads.
    static let threadPool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 4)
        pool.start()
        return pool
    }()

    static func run<Result: Sendable>(_ body: @escaping @Sendable () throws -> Result) async throws -> Result {
        try await threadPool.runIfActive(body)
    }
}
