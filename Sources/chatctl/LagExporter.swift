import ChatLag
import Hummingbird
import Logging
import ServiceLifecycle

/// `chatctl lag --serve`: samples in the background and answers GET /metrics with the latest report.
struct LagExporter {
    let monitor: LagMonitor
    let address: ServeAddress
    let interval: Duration
    let logger: Logger

    func run() async throws {
        let monitor = self.monitor
        let router = Router()
        router.get("/metrics") { _, _ -> Response in
            let text = LagPrometheusRenderer.render(await monitor.latest, sampleDuration: Self.seconds(await monitor.lastSampleDuration))
            return Response(
                status: .ok, headers: [.contentType: LagPrometheusRenderer.contentType], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        router.get("/healthz") { _, _ in "ok\n" }
        let address = self.address
        let application = Application(
            router: router,
            configuration: .init(address: .hostname(address.host, port: address.port), serverName: "chatctl-lag"),
            onServerRunning: { channel in
                let host = address.host.contains(":") ? "[\(address.host)]" : address.host
                writeError("serving Prometheus metrics on http://\(host):\(channel.localAddress?.port ?? address.port)/metrics")
            },
            logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: application), .init(service: SamplingService(monitor: monitor, interval: interval))],
                gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// Samples every `interval` until graceful shutdown.
struct SamplingService: Service {
    let monitor: LagMonitor
    let interval: Duration

    func run() async throws {
        do {
            try await cancelWhenGracefulShutdown {
                while !Task.isCancelled {
                    await monitor.sample()
                    try await Task.sleep(for: interval)
                }
            }
        } catch is CancellationError {
            // Shutdown interrupted the pause between samples.
        }
    }
}
