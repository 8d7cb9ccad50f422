import ChatTestSupport
import Foundation

extension ChildProcess {
    /// Starts `chatctl kafka` and returns it with its bootstrap servers.
    static func kafka(partitions: Int = 4) async throws -> (ChildProcess, String) {
        try await chatctlKafka(["--partitions", "\(partitions)"])
    }

    /// Starts a `chatd` on `brokers` and returns it with its port.
    static func chatd(brokers: String, nodeID: String, extra: [String] = []) async throws -> (ChildProcess, Int) {
        let node = try ChildProcess(
            "chatd",
            [
                "--brokers", brokers, "--port", "0", "--host", "127.0.0.1", "--node-id", nodeID, "--jwt-secret", testSecret,
                "--kafka-consumer-property", "fetch.wait.max.ms=2",
            ] + extra)
        let line = try await node.waitForLine(containing: "chatd listening")
        guard let range = line.range(of: #"port=(\d+)"#, options: .regularExpression),
            let port = Int(line[range].dropFirst("port=".count))
        else { throw WSTestClientError.timeout("port in \(line)") }
        return (node, port)
    }
}
