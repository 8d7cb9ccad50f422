import ChatDomain
import Hummingbird
import Kafka
import Logging
import Prometheus
import ServiceLifecycle
import Synchronization

/// `chatd --role compactor`: the continuous compactor with the health and metrics endpoints
/// every chat process serves (`/healthz`, `/readyz`, `/metrics`).
public final class CompactorNode: Service, Sendable {
    public let compactor: Compactor
    let admin: KafkaAdmin
    let application: Application<RouterResponder<BasicRequestContext>>
    let logger: Logger
    private let port = ListeningPort()

    /// - Parameters:
    ///   - kafka: settings of every Kafka client (bootstrap servers, TLS, SASL).
    ///   - consumerKafka: the compactor consumer's settings.
    public init(configuration: CompactorConfiguration, kafka: KafkaConfiguration, host: String, port: Int, logger: Logger) async throws {
        let admin = try KafkaAdmin(configuration: kafka, logger: logger)
        let epoch: LogEpoch
        do {
            epoch = LogEpoch(clusterID: try await admin.clusterID(), topic: configuration.topic)
        } catch {
            await admin.close()
            throw error
        }
        let prometheus = PrometheusCollectorRegistry()
        let compactor = try Compactor(
            configuration: configuration, admin: admin, epoch: epoch, metricsFactory: PrometheusMetricsFactory(registry: prometheus), logger: logger)
        let router = Router()
        router.get("/healthz") { _, _ in "ok\n" }
        router.get("/readyz") { _, _ -> Response in
            let reachable = (try? await admin.partitionCount(topic: configuration.topic, timeout: .seconds(2))) != nil
            let body = reachable ? "{\"ready\":true,\"kafka\":\"reachable\"}" : "{\"ready\":false,\"kafka\":\"unreachable\"}"
            return Response(
                status: reachable ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: body)))
        }
        router.get("/metrics") { _, _ -> Response in
            var bytes: [UInt8] = []
            prometheus.emit(into: &bytes)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        self.compactor = compactor
        self.admin = admin
        self.logger = logger
        let bound = self.port
        self.application = Application(
            router: router, configuration: .init(address: .hostname(host, port: port), serverName: "chatd-compactor"),
            onServerRunning: { channel in bound.value.withLock { $0 = channel.localAddress?.port ?? port } },
            logger: logger)
    }

    /// The port the health and metrics server listens on, once it does (port 0 picks one).
    public func boundPort() async throws -> Int {
        while true {
            if let port = port.value.withLock({ $0 }) { return port }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    public func run() async throws {
        let group = ServiceGroup(
            configuration: .init(services: [.init(service: compactor), .init(service: application)], logger: logger))
        do {
            try await group.run()
        } catch {
            await admin.close()
            throw error
        }
        await admin.close()
    }
}

/// The port the server bound, set once it runs.
final class ListeningPort: Sendable {
    let value = Mutex<Int?>(nil)
}
