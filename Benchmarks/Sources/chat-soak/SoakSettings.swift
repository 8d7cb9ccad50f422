/// Everything a soak run is configured with (the command's options, resolved), echoed in the report.
struct SoakSettings: Sendable, Codable {
    var duration: Double
    var seed: UInt64
    var rate: Double
    var users: Int
    var rooms: Int
    var gateways: Int
    var brokers: Int
    var partitions: Int
    var killEvery: Double
    var restartAfter: Double
    var brokerEvery: Double
    var brokerDown: Double
    var leaderEvery: Double
    var slowEvery: Double
    var slowPause: Double
    var slowSessions: Int
    var stormEvery: Double
    var killAnyGateway: Bool
    var pingInterval: Int
    var fetchWaitMs: Int
    var rssTolerancePercent: Double
    var drainTimeout: Double
    var progressEvery: Double
    var basePort: Int
    var chatd: String
    var chatctl: String
    var workDirectory: String

    /// The gateway spared from SIGKILL, whose memory is judged over the whole second half.
    var sparedGateway: Int? { killAnyGateway ? nil : 0 }

    var chaos: ChaosMonkey.Settings {
        ChaosMonkey.Settings(
            killEvery: gateways > 1 || killAnyGateway ? killEvery : 0, restartAfter: restartAfter, brokerEvery: brokerEvery,
            brokerDown: brokerDown, leaderEvery: leaderEvery, slowEvery: slowEvery, slowPause: slowPause, slowSessions: slowSessions,
            stormEvery: stormEvery, sparedGateway: sparedGateway, partitions: partitions)
    }
}
