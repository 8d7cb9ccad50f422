extension Duration {
    /// The duration in whole milliseconds (truncated), for clocks and limits kept as integers.
    public var wholeMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }

    /// The duration in whole nanoseconds (truncated), as NIO's time amounts and metrics take it.
    public var wholeNanoseconds: Int64 {
        components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000
    }
}
