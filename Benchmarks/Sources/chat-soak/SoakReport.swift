import Foundation

/// The figures of a soak run, written as JSON by `--output`.
struct SoakReport: Sendable, Codable {
    var settings: SoakSettings
    var startedAt: String
    var wallSeconds: Double = 0
    var drainSeconds: Double = 0
    var users = 0
    var memberships = 0
    var posted = 0
    var acked = 0
    var retries = 0
    var deliveries = 0
    /// Seconds from a send's first attempt to its first ack (retries and reconnects included).
    var ackLatencyP50 = 0.0
    var ackLatencyP99 = 0.0
    var ackLatencyMax = 0.0
    var connections = 0
    var connectFailures = 0
    var droppedWhileSlow = 0
    var faults: [String: Int] = [:]
    var faultEvents: [FaultLog.Event] = []
    var errors: [String: Int] = [:]
    var closeCodes: [String: Int] = [:]
    var gatewayCrashes: [GatewayPool.Crash] = []
    var restartFailures: [String] = []
    var gatewaysLost: [String] = []
    var memoryMid: [MemoryMonitor.Mark] = []
    var memoryEnd: [MemoryMonitor.Mark] = []
    var memorySamples: [MemoryMonitor.Sample] = []
    var checks: [Check] = []

    var passed: Int { checks.filter { $0.status == .pass }.count }
    var failed: Int { checks.filter { $0.status == .fail }.count }

    func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let url = URL(fileURLWithPath: path)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try encoder.encode(self).write(to: url)
    }
}
