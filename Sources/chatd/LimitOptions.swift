import ArgumentParser
import ChatGateway
import Foundation

/// The bounds on what clients can make a node hold (docs/security.md), as options and
/// environment variables; options win over the environment.
struct LimitOptions: ParsableArguments {
    @Option(help: "Rooms one session may have joined at once [CHAT_MAX_ROOMS_PER_SESSION, default 1000].")
    var maxRoomsPerSession: Int?

    @Option(help: "Open sessions of one user on this node; more are refused with 429 [CHAT_MAX_SESSIONS_PER_USER, default 100].")
    var maxSessionsPerUser: Int?

    @Option(help: "Open WebSocket connections from one client IP on this node; more are refused with 429 [CHAT_MAX_CONNECTIONS_PER_IP, default 1000].")
    var maxConnectionsPerIp: Int?

    @Option(help: "Bytes queued for a session before it is closed as too slow (4008) [CHAT_OUTBOUND_QUEUE_BYTES, default 4194304].")
    var outboundQueueBytes: Int?

    @Option(help: "History reads and join catch-ups running at once on this node [CHAT_MAX_CONCURRENT_READS, default 64].")
    var maxConcurrentReads: Int?

    @Option(help: "Reads waiting for a slot; more are refused with 'limit' [CHAT_MAX_QUEUED_READS, default 1024].")
    var maxQueuedReads: Int?

    @Option(help: "History reads and edit/delete lookups waiting for the node's shared log reader; more get 'unavailable' [CHAT_HISTORY_READER_QUEUE, default 256].")
    var historyReaderQueue: Int?

    @Option(help: "Seconds a connection may take to send its request head before it is closed [CHAT_REQUEST_HEAD_TIMEOUT, default 10].")
    var requestHeadTimeout: Int?

    @Option(help: "Memory budget in MiB; the producer queue gets a quarter of it [CHAT_MEMORY_BUDGET_MB, default 1024].")
    var memoryBudgetMb: Int?

    func apply(to configuration: inout ChatNodeConfiguration) throws {
        let environment = ProcessInfo.processInfo.environment
        func value(_ option: Int?, _ variable: String, _ name: String, minimum: Int = 1) throws -> Int? {
            guard let value = option ?? environment[variable].flatMap(Int.init) else { return nil }
            guard value >= minimum else { throw ValidationError("--\(name) must be at least \(minimum)") }
            return value
        }
        if let limit = try value(maxRoomsPerSession, "CHAT_MAX_ROOMS_PER_SESSION", "max-rooms-per-session") {
            configuration.gateway.maxRoomsPerSession = limit
        }
        if let limit = try value(maxSessionsPerUser, "CHAT_MAX_SESSIONS_PER_USER", "max-sessions-per-user") {
            configuration.gateway.maxSessionsPerUser = limit
        }
        if let limit = try value(maxConnectionsPerIp, "CHAT_MAX_CONNECTIONS_PER_IP", "max-connections-per-ip") {
            configuration.gateway.maxConnectionsPerIP = limit
        }
        if let limit = try value(outboundQueueBytes, "CHAT_OUTBOUND_QUEUE_BYTES", "outbound-queue-bytes", minimum: 1024) {
            configuration.gateway.outboundQueueBytes = limit
        }
        if let limit = try value(maxConcurrentReads, "CHAT_MAX_CONCURRENT_READS", "max-concurrent-reads") {
            configuration.gateway.maxConcurrentReads = limit
        }
        if let limit = try value(maxQueuedReads, "CHAT_MAX_QUEUED_READS", "max-queued-reads", minimum: 0) {
            configuration.gateway.maxQueuedReads = limit
        }
        if let limit = try value(historyReaderQueue, "CHAT_HISTORY_READER_QUEUE", "history-reader-queue") {
            configuration.historyReaderQueueLimit = limit
        }
        if let seconds = try value(requestHeadTimeout, "CHAT_REQUEST_HEAD_TIMEOUT", "request-head-timeout") {
            configuration.gateway.requestHeadTimeout = .seconds(seconds)
        }
        if let megabytes = try value(memoryBudgetMb, "CHAT_MEMORY_BUDGET_MB", "memory-budget-mb", minimum: 16) {
            configuration.memoryBudgetMegabytes = megabytes
        }
    }
}
