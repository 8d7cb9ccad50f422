import ChatDomain
import ChatGateway
import ChatProvisioning
import ChatServer
import ChatTestSupport
import Foundation
import Kafka
import ServiceLifecycle
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `/readyz` of a gateway node follows its fan-out lag against the configured bound.
@Suite struct ReadinessTests {
    @Test func readyzAnswers503WhileTheFanoutIsBehind() async throws {
        let cluster = try EmbeddedKafkaCluster(brokers: 3, logger: quietLogger())
        try ChatTopicLayout(partitions: 2).create(on: cluster)
        var gateway = GatewayConfiguration(nodeID: "ready-test")
        gateway.port = 0
        gateway.host = "127.0.0.1"
        gateway.readyLagLimit = 5
        var configuration = ChatNodeConfiguration(gateway: gateway)
        configuration.brokers = cluster.bootstrapServers
        configuration.consumerProperties["fetch.wait.max.ms"] = "2"
        configuration.authentication = .sharedSecret("readiness-tests-secret-of-at-least-32-bytes")
        let node = try await ChatNode.build(configuration: configuration, logger: quietLogger())
        let group = ServiceGroup(configuration: .init(services: [.init(service: node)], logger: quietLogger()))
        let running = Task { try await group.run() }
        let producer = try KafkaProducer(configuration: KafkaConfiguration(bootstrapServers: cluster.bootstrapServers), logger: quietLogger())
        do {
            let url = try #require(URL(string: "http://127.0.0.1:\(await node.boundPort())/readyz"))
            let session = URLSession(configuration: .ephemeral)
            func readiness() async throws -> (Int, String) {
                let (data, response) = try await session.data(from: url)
                return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
            }
            func poll(until status: Int, within limit: Duration, bodyContains text: String? = nil) async throws -> (Int, String) {
                let deadline = ContinuousClock.now + limit
                var last = try await readiness()
                while (last.0 != status || !(text.map(last.1.contains) ?? true)) && ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(50))
                    last = try await readiness()
                }
                return last
            }
            let ready = try await poll(until: 200, within: .seconds(20))
            #expect(ready.0 == 200, "\(ready.1)")

            // The fan-out's fetches fail for a while (as when its broker connection breaks), while
            // 50 messages arrive: it falls 50 behind, beyond the bound of 5.
            cluster.pushRequestErrors(api: .fetch, errors: Array(repeating: .notLeaderForPartition, count: 60))
            for index in 0..<50 {
                _ = try await producer.send(KafkaProducerRecord(topic: ChatTopics.rooms, partition: 1, value: Array("x\(index)".utf8)))
            }
            let behind = try await poll(until: 503, within: .seconds(10))
            #expect(behind.0 == 503, "\(behind.1)")
            #expect(behind.1.contains("\"fanoutLagLimit\":5"), "\(behind.1)")
            #expect(behind.1.contains("\"kafka\":\"reachable\""), "not ready because of the lag alone: \(behind.1)")

            // Once fetching works again the fan-out catches up and the node is ready again (ready
            // already within the bound of 5, so wait for the whole way back to no lag).
            let caughtUp = try await poll(until: 200, within: .seconds(30), bodyContains: "\"fanoutLag\":0")
            #expect(caughtUp.0 == 200, "\(caughtUp.1)")
            #expect(caughtUp.1.contains("\"fanoutLag\":0"), "\(caughtUp.1)")
            session.invalidateAndCancel()
        } catch {
            Issue.record(error)
        }
        await producer.close()
        await group.triggerGracefulShutdown()
        _ = await running.result
    }
}
