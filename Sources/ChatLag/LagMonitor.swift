import Logging

/// Samples the cluster again and again and keeps the history the statuses are judged on; shared
/// by `chatctl lag`, its `--watch` view and its `--serve` exporter.
public actor LagMonitor {
    private let sampler: LagSampler
    private let discovery: ConsumerGroupDiscovery
    private let explicitGroups: [String]
    private let rediscoveryInterval: Duration
    private let logger: Logger
    private var history: LagHistory
    private var groups: [String] = []
    private var lastDiscovery: ContinuousClock.Instant?
    /// Where the groups came from, or why discovery failed.
    public private(set) var groupSource = ""
    public private(set) var latest: LagReport?
    /// Duration of the latest sampling pass.
    public private(set) var lastSampleDuration: Duration = .zero

    /// - Parameter groups: groups to report; empty means every group ``ConsumerGroupDiscovery`` finds.
    public init(
        sampler: LagSampler, discovery: ConsumerGroupDiscovery, groups: [String], rules: LagRules, rediscoveryInterval: Duration = .seconds(30),
        logger: Logger
    ) {
        self.sampler = sampler
        self.discovery = discovery
        self.explicitGroups = groups
        self.rediscoveryInterval = rediscoveryInterval
        self.history = LagHistory(rules: rules)
        self.logger = logger
    }

    /// Takes one sample and returns the report it leads to.
    @discardableResult
    public func sample() async -> LagReport {
        let started = ContinuousClock.now
        await refreshGroups()
        let snapshot = await sampler.sample(groups: groups)
        let report = history.record(snapshot)
        latest = report
        lastSampleDuration = ContinuousClock.now - started
        return report
    }

    private func refreshGroups() async {
        guard explicitGroups.isEmpty else {
            groups = explicitGroups
            groupSource = "groups given on the command line"
            return
        }
        if let lastDiscovery, ContinuousClock.now - lastDiscovery < rediscoveryInterval { return }
        do {
            let discovered = try await discovery.discover()
            groups = discovered.groups
            groupSource = discovered.source
            lastDiscovery = .now
        } catch {
            // Keep the groups found before: one failed listing must not drop them from the report.
            groupSource = "group discovery failed (\(error)); reporting the \(groups.count) group(s) found before"
            logger.warning("consumer group discovery failed", metadata: ["error": "\(error)"])
            if groups.isEmpty { groups = [ConsumerGroupDiscovery.compactorGroup] }
        }
    }
}
