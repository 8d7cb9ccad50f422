import Foundation

/// The embedded Kafka cluster as its own process (`chatctl kafka`), shared by the gateways.
/// Broker faults are its stdin commands; each answers one line ("ok" or "error: ...").
actor KafkaCluster {
    let process: ManagedProcess
    let bootstrap: String
    let brokers: Int
    /// Index of the next unread stdout line (line 0 is the bootstrap servers).
    private var nextLine = 1

    private init(process: ManagedProcess, bootstrap: String, brokers: Int) {
        self.process = process
        self.bootstrap = bootstrap
        self.brokers = brokers
    }

    static func start(chatctl: String, brokers: Int, partitions: Int, log: URL) async throws -> KafkaCluster {
        let process = try ManagedProcess(
            name: "chatctl kafka", executable: chatctl,
            arguments: ["kafka", "--brokers-count", "\(brokers)", "--partitions", "\(partitions)"],
            log: log, keepStdin: true, readStdout: true)
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if let line = process.lines?.line(0), line.contains(":") {
                return KafkaCluster(process: process, bootstrap: line.trimmingCharacters(in: .whitespaces), brokers: brokers)
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        await process.stop()
        throw SoakError.startup("chatctl kafka printed no bootstrap servers (\(process.exitDescription)); see \(log.path)")
    }

    /// Sends one fault command and returns its answer line.
    func command(_ line: String) async -> String {
        process.writeLine(line)
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if let answer = process.lines?.line(nextLine) {
                nextLine += 1
                return answer
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return "error: no answer within 10 s"
    }

    func stop() async {
        await process.stop()
    }
}
