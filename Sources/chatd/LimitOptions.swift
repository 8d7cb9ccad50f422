import ArgumentParser
import ChatServer

/// The bounds on what clients can make a node hold (docs/security.md), as options; their
/// environment variables and defaults are in ``ChatSettings``.
struct LimitOptions: ParsableArguments {
    @Option(help: .init(ChatSettings.maxRoomsPerSession.help)) var maxRoomsPerSession: String?
    @Option(help: .init(ChatSettings.maxSessionsPerUser.help)) var maxSessionsPerUser: String?
    @Option(help: .init(ChatSettings.maxConnectionsPerIP.help)) var maxConnectionsPerIp: String?
    @Option(help: .init(ChatSettings.outboundQueueBytes.help)) var outboundQueueBytes: String?
    @Option(help: .init(ChatSettings.maxConcurrentReads.help)) var maxConcurrentReads: String?
    @Option(help: .init(ChatSettings.maxQueuedReads.help)) var maxQueuedReads: String?
    @Option(help: .init(ChatSettings.historyReaderQueue.help)) var historyReaderQueue: String?
    @Option(help: .init(ChatSettings.requestHeadTimeout.help)) var requestHeadTimeout: String?
    @Option(help: .init(ChatSettings.memoryBudgetMB.help)) var memoryBudgetMb: String?

    /// What was given on the command line, by setting.
    var given: [ChatSetting: [String]] {
        let pairs: [(ChatSetting, String?)] = [
            (ChatSettings.maxRoomsPerSession, maxRoomsPerSession), (ChatSettings.maxSessionsPerUser, maxSessionsPerUser),
            (ChatSettings.maxConnectionsPerIP, maxConnectionsPerIp), (ChatSettings.outboundQueueBytes, outboundQueueBytes),
            (ChatSettings.maxConcurrentReads, maxConcurrentReads), (ChatSettings.maxQueuedReads, maxQueuedReads),
            (ChatSettings.historyReaderQueue, historyReaderQueue), (ChatSettings.requestHeadTimeout, requestHeadTimeout),
            (ChatSettings.memoryBudgetMB, memoryBudgetMb),
        ]
        var given: [ChatSetting: [String]] = [:]
        for (setting, value) in pairs { if let value { given[setting] = [value] } }
        return given
    }
}
