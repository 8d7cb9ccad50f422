/// A token bucket: `rate` requests per second on average, bursts up to `burst`.
public struct TokenBucket: Sendable {
    public let rate: Double
    public let burst: Double
    private var tokens: Double
    private var lastRefill: Double

    /// - Parameter now: seconds on a monotonic clock.
    public init(rate: Double, burst: Double, now: Double) {
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.lastRefill = now
    }

    /// Takes one token if there is one.
    public mutating func take(now: Double) -> Bool {
        tokens = min(burst, tokens + max(0, now - lastRefill) * rate)
        lastRefill = now
        guard tokens >= 1 else { return false }
        tokens -= 1
        return true
    }
}
