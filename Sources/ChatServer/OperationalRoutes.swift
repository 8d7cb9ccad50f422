import Hummingbird
import Prometheus

/// The routes every chat process serves, whatever its role: `/healthz` (the process answers),
/// `/readyz` (it can do its work) and `/metrics` (Prometheus text of all its parts).
enum OperationalRoutes {
    static func addRoutes<Context: RequestContext>(to router: Router<Context>, health: NodeHealth, prometheus: PrometheusCollectorRegistry) {
        router.get("/healthz") { _, _ in "ok\n" }
        router.get("/readyz") { _, _ -> Response in
            let report = await health.readiness()
            return Response(
                status: report.ready ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                body: .init(byteBuffer: ByteBuffer(string: report.json)))
        }
        router.get("/metrics") { _, _ -> Response in
            var bytes: [UInt8] = []
            prometheus.emit(into: &bytes)
            return Response(
                status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
    }
}
