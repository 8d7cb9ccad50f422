/// Judges one group's consumption of one partition from a window of samples. Pure: the same
/// samples always give the same verdict, so the rules are unit-tested with synthetic samples.
///
/// The rules, in order (the first that applies wins); `c` is the committed offset, `lag` the log
/// end offset minus `c`:
/// 1. The latest sample could not be read, or its `c` lies before the log start (records were
///    deleted unread) or past the log end (the log was truncated or recreated): **ERR**.
/// 2. The latest sample has no committed offset: no status (shown as such, never as lag).
/// 3. Some sample of the window has `lag == 0`: **OK** (the consumer caught up within the window).
/// 4. Fewer than ``LagRules/minimumSamples`` samples: **OK**, too early to judge a trend.
/// 5. `c` is the same in the first and the last sample of the window: no progress.
///    The log end moved meanwhile, so the lag grew: **STOP**. It did not: **STALL**.
/// 6. `c` moved, but the lag never shrank from one sample to the next and ended higher than it
///    started: **WARN**.
/// 7. Otherwise **OK**.
///
/// Only the trailing run of samples that have a committed offset and no error forms the window,
/// so an earlier outage does not count as lack of progress.
public struct LagEvaluator: Sendable {
    public var rules: LagRules

    public init(rules: LagRules = LagRules()) {
        self.rules = rules
    }

    public func evaluate(_ samples: [PartitionSample]) -> PartitionVerdict {
        guard let latest = samples.last else { return PartitionVerdict(status: nil, reason: "not sampled yet") }
        if let error = latest.error { return PartitionVerdict(status: .err, reason: error) }
        guard let committed = latest.committed else { return PartitionVerdict(status: nil, reason: "no committed offset") }
        guard let logStart = latest.logStart, let logEnd = latest.logEnd else {
            return PartitionVerdict(status: .err, reason: "log offsets unknown")
        }
        if committed < logStart {
            return PartitionVerdict(
                status: .err,
                reason: "committed offset \(committed) is before the log start \(logStart): \(logStart - committed) messages were deleted unread")
        }
        if committed > logEnd {
            return PartitionVerdict(
                status: .err, reason: "committed offset \(committed) is past the log end \(logEnd): the log was truncated or recreated")
        }
        let window = Array(
            samples.suffix(rules.windowSize).reversed().prefix { $0.error == nil && $0.committed != nil && $0.lag != nil }.reversed())
        let lags = window.map { $0.lag! }
        if lags.last == 0 { return PartitionVerdict(status: .ok, reason: "caught up") }
        if lags.contains(0) { return PartitionVerdict(status: .ok, reason: "caught up within the window") }
        guard window.count >= rules.minimumSamples, let first = window.first, let last = window.last else {
            return PartitionVerdict(status: .ok, reason: "lag \(lags.last ?? 0); judging after \(rules.minimumSamples) samples")
        }
        let span = Self.seconds(last.time - first.time)
        if first.committed == last.committed {
            if last.logEnd! > first.logEnd! {
                return PartitionVerdict(
                    status: .stop, reason: "no progress at offset \(committed) for \(span) while the lag grew from \(lags.first!) to \(lags.last!)")
            }
            return PartitionVerdict(
                status: .stall, reason: "no progress at offset \(committed) for \(span) with lag \(lags.last!) and no new messages")
        }
        let neverShrank = zip(lags, lags.dropFirst()).allSatisfy { $0 <= $1 }
        if neverShrank && lags.last! > lags.first! {
            return PartitionVerdict(status: .warn, reason: "consuming, but the lag grew from \(lags.first!) to \(lags.last!) in \(span)")
        }
        return PartitionVerdict(status: .ok, reason: "consuming")
    }

    static func seconds(_ milliseconds: Int64) -> String {
        milliseconds >= 10_000 ? "\(milliseconds / 1000)s" : "\(Double(milliseconds / 100) / 10)s"
    }
}

/// The outcome of ``LagEvaluator/evaluate(_:)``.
public struct PartitionVerdict: Sendable, Hashable {
    /// `nil` when the group has no committed offset on the partition.
    public var status: LagStatus?
    /// Why, in words an operator can act on.
    public var reason: String

    public init(status: LagStatus?, reason: String) {
        self.status = status
        self.reason = reason
    }
}
