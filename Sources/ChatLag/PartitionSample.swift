/// What one sampling pass saw of a group's position on one partition.
public struct PartitionSample: Sendable, Hashable {
    /// When the committed offset was read, in milliseconds since the Unix epoch.
    public var time: Int64
    /// The group's committed offset (the next offset it will read); `nil` when it has none.
    public var committed: Int64?
    /// The partition's log start offset (oldest retained) and log end offset (next to be written).
    public var logStart: Int64?
    public var logEnd: Int64?
    /// Why the offsets could not be read, if they could not.
    public var error: String?

    public init(time: Int64, committed: Int64?, logStart: Int64?, logEnd: Int64?, error: String? = nil) {
        self.time = time
        self.committed = committed
        self.logStart = logStart
        self.logEnd = logEnd
        self.error = error
    }

    /// Messages between the committed offset and the log end; `nil` without both.
    public var lag: Int64? {
        guard error == nil, let committed, let logEnd else { return nil }
        return max(0, logEnd - committed)
    }
}
