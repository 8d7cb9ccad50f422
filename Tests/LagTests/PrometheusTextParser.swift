import ChatTestSupport
import Foundation

/// Parses Prometheus text exposition with the reference Python client's parser
/// (`prometheus_client.parser`), in a private virtualenv that tools/setup.sh prepares; created
/// here when missing, so the tests also run on their own.
enum PrometheusTextParser {
    struct Sample: Decodable, Hashable {
        var family: String
        var type: String
        var name: String
        var labels: [String: String]
        var value: Double
    }

    static let clientVersion = "0.26.0"

    static var toolsDirectory: String {
        ProcessInfo.processInfo.environment["CHAT_TEST_TOOLS_DIR"]
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache/kafka-chat-test-tools").path
    }

    static let script = """
        import json, sys
        from prometheus_client.parser import text_string_to_metric_families
        samples = []
        for family in text_string_to_metric_families(sys.stdin.read()):
            for sample in family.samples:
                samples.append({"family": family.name, "type": family.type, "name": sample.name,
                                "labels": sample.labels, "value": sample.value})
        print(json.dumps(samples))
        """

    /// Every sample of `text`; throws with the parser's message when the text is not valid.
    static func parse(_ text: String) async throws -> [Sample] {
        let python = try await interpreter()
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID().uuidString).txt")
        try Data(text.utf8).write(to: input)
        defer { try? FileManager.default.removeItem(at: input) }
        let result = try await runProcess("/bin/sh", ["-c", "\"$0\" -c \"$1\" < \"$2\"", python, script, input.path], timeout: .seconds(60))
        guard result.status == 0 else { throw ProcessFailure(message: "prometheus_client rejected the exposition: \(result.stderr)") }
        return try JSONDecoder().decode([Sample].self, from: Data(result.stdout.utf8))
    }

    private static func interpreter() async throws -> String {
        let python = toolsDirectory + "/venv/bin/python"
        if FileManager.default.isExecutableFile(atPath: python),
            try await runProcess(python, ["-c", "import prometheus_client"], timeout: .seconds(30)).status == 0
        {
            return python
        }
        let setup = try await runProcess(
            "/bin/sh",
            ["-c", "python3 -m venv \"$0/venv\" && \"$0/venv/bin/pip\" install --quiet prometheus-client==\(clientVersion)", toolsDirectory],
            timeout: .seconds(240))
        guard setup.status == 0 else {
            throw ProcessFailure(message: "cannot install prometheus-client into \(toolsDirectory)/venv (run tools/setup.sh): \(setup.stderr)")
        }
        return python
    }
}
