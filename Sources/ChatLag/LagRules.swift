/// Parameters of the status evaluation (see docs/operations.md, "Consumer lag").
public struct LagRules: Sendable, Hashable {
    /// How many of the most recent samples a partition is judged on.
    public var windowSize: Int
    /// With fewer samples than this, a lagging partition is OK: too early to judge a trend.
    public var minimumSamples: Int

    public init(windowSize: Int = 12, minimumSamples: Int = 3) {
        precondition(windowSize >= 2 && minimumSamples >= 2 && minimumSamples <= windowSize)
        self.windowSize = windowSize
        self.minimumSamples = minimumSamples
    }
}
