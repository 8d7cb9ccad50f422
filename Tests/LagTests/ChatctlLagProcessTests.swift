import ChatDomain
import ChatTestSupport
import Foundation
import Kafka
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The built `chatctl lag` as an operator runs it, against `chatctl kafka` processes.
@Suite(.serialized) struct ChatctlLagProcessTests {
    /// Metric names dashboards and deploy/prometheus/alerts.yml rely on.
    static let exportedNames: Set<String> = [
        "kafka_consumergroup_group_offset", "kafka_consumergroup_group_lag", "kafka_consumergroup_group_lag_seconds",
        "kafka_consumergroup_group_max_lag", "kafka_consumergroup_group_sum_lag", "kafka_partition_latest_offset",
        "kafka_partition_earliest_offset", "chat_consumergroup_status",
    ]

    @Test func exporterServesValidPrometheusTextWithTheAlertedNames() async throws {
        try await EmbeddedKafkaProcess.with(["--partitions", "2"]) { kafka in
            // A compactor that read 3 of 5 records, and a fan-out group with nothing committed.
            let configuration = KafkaConfiguration(bootstrapServers: kafka.bootstrap)
            let producer = try KafkaProducer(configuration: configuration, logger: quietLogger())
            for index in 0..<5 {
                _ = try await producer.send(KafkaProducerRecord(topic: ChatTopics.rooms, partition: 1, value: Array("m\(index)".utf8)))
            }
            await producer.close()
            var groupConfiguration = configuration
            groupConfiguration["group.id"] = "chat-compactor"
            let committer = try KafkaConsumer(configuration: groupConfiguration, logger: quietLogger())
            try await committer.commit([KafkaTopicPartition(topic: ChatTopics.rooms, partition: 1, offset: .exact(3))])
            await committer.close()

            let exporter = try ChildProcess(
                try chatctlPath(), ["lag", "--brokers", kafka.bootstrap, "--serve", "127.0.0.1:0", "--interval", "0.5", "--timeout", "5"])
            defer { exporter.terminate() }
            let serving = try await exporter.stderr.nextLine()
            let url = try #require(serving.split(separator: " ").last.map(String.init).flatMap(URL.init(string:)), "\(serving)")
            let session = URLSession(configuration: .ephemeral)
            var text = ""
            let deadline = ContinuousClock.now + .seconds(30)
            // The first scrape may come before the first sample; the lag shows once one is taken.
            while ContinuousClock.now < deadline {
                let (data, response) = try await session.data(from: url)
                #expect((response as? HTTPURLResponse)?.value(forHTTPHeaderField: "Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
                text = String(decoding: data, as: UTF8.self)
                if text.contains("kafka_consumergroup_group_lag{") { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            session.invalidateAndCancel()
            let samples = try await PrometheusTextParser.parse(text)
            let names = Set(samples.map(\.name))
            #expect(Self.exportedNames.isSubset(of: names), "missing: \(Self.exportedNames.subtracting(names)) in\n\(text)")
            #expect(samples.allSatisfy { $0.type == "gauge" })
            func value(_ name: String, _ labels: [String: String]) -> Double? {
                samples.first { $0.name == name && $0.labels == labels }?.value
            }
            let partition1 = ["group": "chat-compactor", "topic": "chat.rooms", "partition": "1"]
            #expect(value("kafka_consumergroup_group_offset", partition1) == 3)
            #expect(value("kafka_consumergroup_group_lag", partition1) == 2)
            #expect(value("chat_consumergroup_status", partition1).map { (0...4).contains($0) } == true)
            #expect((value("kafka_consumergroup_group_lag_seconds", partition1) ?? -1) >= 0)
            #expect(value("kafka_consumergroup_group_sum_lag", ["group": "chat-compactor"]) == 2)
            #expect(value("kafka_partition_latest_offset", ["topic": "chat.rooms", "partition": "1"]) == 5)
            #expect(value("kafka_partition_earliest_offset", ["topic": "chat.rooms", "partition": "1"]) == 0)
            // Partition 0 has no commit: no group series, never a fake lag.
            #expect(value("kafka_consumergroup_group_lag", ["group": "chat-compactor", "topic": "chat.rooms", "partition": "0"]) == nil)

            exporter.terminate()
            #expect(await exporter.wait(timeout: .seconds(15)) == 0, "SIGTERM stops the exporter cleanly")
        }
    }

    @Test func oneShotPrintsJSONWithTheStatusOfEachPartition() async throws {
        try await EmbeddedKafkaProcess.with(["--partitions", "2"]) { kafka in
            let result = try await runProcess(
                try chatctlPath(), ["lag", "--brokers", kafka.bootstrap, "--samples", "2", "--interval", "0.2", "--format", "json"],
                timeout: .seconds(60))
            #expect(result.status == 0, "\(result.stderr)")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stdout)")
            let groups = try #require(json["groups"] as? [[String: Any]])
            #expect(groups.compactMap { $0["group"] as? String } == ["chat-compactor"], "discovered without --group")
            #expect(groups.first?["status"] as? String == "OK")
            #expect(result.stderr.contains("cannot list groups"), "says where the groups came from")
        }
    }

    @Test func unreachableClusterFailsClearlyWithinTheTimeout() async throws {
        // Nothing listens on port 1 of the loopback.
        for arguments in [["lag", "--brokers", "127.0.0.1:1", "--timeout", "2"], ["topics", "apply", "--brokers", "127.0.0.1:1", "--timeout", "2"]] {
            let result = try await runProcess(try chatctlPath(), arguments, timeout: .seconds(30))
            #expect(result.status == 2, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains("127.0.0.1:1"), "\(result.stderr)")
            #expect(result.stderr.contains("Check --brokers"), "\(result.stderr)")
            #expect(result.duration < .seconds(15), "gave up after \(result.duration)")
        }
        let missing = try await runProcess(try chatctlPath(), ["lag"], timeout: .seconds(30), environment: ["CHAT_BROKERS": ""])
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("no brokers"), "\(missing.stderr)")
    }
}
