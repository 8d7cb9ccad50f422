import Foundation

/// The `chatd` gateway processes: starting them, SIGKILLing and restarting them on the same port
/// and node id, and noticing when one ends without being told to (a crash).
///
/// Sessions connect only to gateways marked live: a gateway is marked down before it is killed, and
/// live again only once its `/readyz` answers 200 after a restart.
actor GatewayPool {
    /// One gateway slot; its process changes with every restart (`incarnation`).
    struct Gateway {
        let index: Int
        let nodeID: String
        let port: Int
        var process: ManagedProcess?
        var incarnation = 0
        var live = false
        /// Between spawning and ready (or failure), so a start that fails is not also taken for a crash.
        var starting = false
        /// Set while the soak itself stops or kills it, so that its exit is not a crash.
        var expectedExit = false
    }

    /// A gateway that ended on its own.
    struct Crash: Sendable, Codable {
        var gateway: Int
        var incarnation: Int
        var pid: Int32
        var status: String
        var atSeconds: Double
    }

    private var gateways: [Gateway]
    private let chatd: String
    private let brokers: String
    private let secret: String
    private let extraArguments: [String]
    private let logDirectory: URL
    private let started: ContinuousClock.Instant
    private(set) var crashes: [Crash] = []
    private(set) var restartFailures: [String] = []
    /// Gateways that could not be restarted at all (every attempt failed).
    private(set) var lost: [String] = []

    init(
        count: Int, basePort: Int, chatd: String, brokers: String, secret: String, extraArguments: [String], logDirectory: URL,
        started: ContinuousClock.Instant
    ) {
        gateways = (0..<count).map { Gateway(index: $0, nodeID: "soak-gw\($0 + 1)", port: basePort + $0) }
        self.chatd = chatd
        self.brokers = brokers
        self.secret = secret
        self.extraArguments = extraArguments
        self.logDirectory = logDirectory
        self.started = started
    }

    var count: Int { gateways.count }

    func name(_ index: Int) -> String { gateways[index].nodeID }

    /// Starts (or restarts) gateway `index` and waits until it is ready.
    func start(_ index: Int, timeout: Duration = .seconds(90)) async throws {
        gateways[index].incarnation += 1
        gateways[index].starting = true
        defer { gateways[index].starting = false }
        let gateway = gateways[index]
        let arguments =
            [
                "--brokers", brokers, "--port", "\(gateway.port)", "--host", "127.0.0.1", "--node-id", gateway.nodeID,
                "--jwt-secret", secret, "--snapshots", logDirectory.appendingPathComponent("snapshots").path,
            ] + extraArguments
        let log = logDirectory.appendingPathComponent("\(gateway.nodeID).log")
        let process = try ManagedProcess(
            name: gateway.nodeID, executable: chatd, arguments: arguments, log: log,
            header:
                "start \(gateway.nodeID) incarnation \(gateway.incarnation) at \(SoakOutput.seconds((ContinuousClock.now - started) / .seconds(1)))")
        gateways[index].process = process
        gateways[index].expectedExit = false
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard process.isRunning else {
                throw SoakError.startup("\(gateway.nodeID) exited while starting (\(process.exitDescription)); see \(log.path)")
            }
            let port = gateway.port
            let status = await Task.detached { HTTPProbe.status(port: port, path: "/readyz") }.value
            if status == 200 {
                gateways[index].live = true
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw SoakError.startup("\(gateway.nodeID) was not ready within \(timeout); see \(log.path)")
    }

    /// Restarts a gateway, trying again if a start fails (for example while a broker is down);
    /// gives up after `attempts` and records the failure.
    func restart(_ index: Int, attempts: Int = 3) async {
        for attempt in 1...attempts {
            do {
                try await start(index)
                return
            } catch {
                if let process = gateways[index].process {
                    gateways[index].expectedExit = true
                    await process.killHard()
                }
                restartFailures.append("\(gateways[index].nodeID) restart attempt \(attempt): \(error)")
            }
        }
        lost.append("\(gateways[index].nodeID) could not be restarted in \(attempts) attempts")
    }

    /// Marks a gateway down (no new sessions) and SIGKILLs it.
    func kill(_ index: Int) async {
        gateways[index].live = false
        gateways[index].expectedExit = true
        await gateways[index].process?.killHard()
    }

    /// Gateways taking new sessions: (index, port).
    func live() -> [(index: Int, port: Int)] {
        gateways.filter(\.live).map { ($0.index, $0.port) }
    }

    /// Gateways that can be killed: live ones, without the spared one.
    func killable(sparing spared: Int?) -> [Int] {
        gateways.filter { $0.live && $0.index != spared }.map(\.index)
    }

    /// Current process of each gateway with its incarnation, for memory samples.
    func processes() -> [(index: Int, incarnation: Int, process: ManagedProcess)] {
        gateways.compactMap { gateway in gateway.process.map { (gateway.index, gateway.incarnation, $0) } }
    }

    /// Records gateways that ended without being told to and starts them again, so that the soak
    /// goes on (the crash itself fails the run).
    func reapCrashes() async {
        for index in gateways.indices {
            guard let process = gateways[index].process, !gateways[index].expectedExit, !gateways[index].starting,
                !process.isRunning
            else { continue }
            _ = await process.waitForExit(timeout: .zero)
            crashes.append(
                Crash(
                    gateway: index, incarnation: gateways[index].incarnation, pid: process.pid, status: process.exitDescription,
                    atSeconds: (ContinuousClock.now - started) / .seconds(1)))
            gateways[index].live = false
            await restart(index)
        }
    }

    func stopAll() async {
        for index in gateways.indices {
            gateways[index].live = false
            gateways[index].expectedExit = true
            await gateways[index].process?.stop()
        }
    }
}
