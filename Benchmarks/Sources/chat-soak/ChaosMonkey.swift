import Foundation

/// The fault loops of a soak. Each kind of fault runs in a loop of its own with its own seeded
/// random stream, so faults of different kinds overlap as they would in production (a broker
/// down while a gateway restarts), while one kind never overlaps itself (at most one broker
/// down, one gateway killed by this loop, one group of slow clients, one storm at a time).
///
/// A fault is always carried to its end (a killed gateway restarted, a broker brought back up, a
/// paused client reading again) before its loop stops, so the drain starts from a whole system.
struct ChaosMonkey: Sendable {
    /// How often each kind happens (mean seconds between two of a kind; 0 disables it) and how long it lasts.
    struct Settings: Sendable {
        var killEvery: Double
        var restartAfter: Double
        var brokerEvery: Double
        var brokerDown: Double
        var leaderEvery: Double
        var slowEvery: Double
        var slowPause: Double
        var slowSessions: Int
        var stormEvery: Double
        /// The gateway never killed (nil: any may be), so one gateway lives through the whole soak
        /// and its memory can be judged.
        var sparedGateway: Int?
        var partitions: Int
    }

    let settings: Settings
    let gateways: GatewayPool
    let kafka: KafkaCluster
    let users: [SoakUser]
    let log: FaultLog
    let random: SeededGenerator

    /// Runs every enabled loop until `end`, and returns once each has finished its last fault.
    func run(until end: ContinuousClock.Instant, duration: Double) async {
        await withTaskGroup(of: Void.self) { group in
            let loops: [(String, Double)] = [
                ("gateway-kill", settings.killEvery), ("broker-outage", settings.brokerEvery), ("leader-move", settings.leaderEvery),
                ("slow-clients", settings.slowEvery), ("reconnect-storm", settings.stormEvery),
            ]
            for (name, every) in loops where every > 0 {
                let stream = random.derived(name)
                group.addTask {
                    var random = stream
                    // The first of each kind comes early, so a short run still sees every kind once.
                    var delay = random.seconds(0.1...0.4) * min(every, duration)
                    while ContinuousClock.now + .seconds(delay) < end {
                        try? await Task.sleep(for: .seconds(delay))
                        await inject(name, &random)
                        delay = random.seconds(0.5 * every...1.5 * every)
                    }
                }
            }
        }
    }

    private func inject(_ kind: String, _ random: inout SeededGenerator) async {
        switch kind {
        case "gateway-kill": await killGateway(&random)
        case "broker-outage": await brokerOutage(&random)
        case "leader-move": await moveLeader(&random)
        case "slow-clients": await slowClients(&random)
        default: await reconnectStorm(&random)
        }
    }

    /// SIGKILL a gateway; restart it on the same port and node id after a short delay. Its sessions
    /// reconnect to any live gateway meanwhile.
    private func killGateway(_ random: inout SeededGenerator) async {
        guard let index = await gateways.killable(sparing: settings.sparedGateway).randomElement(using: &random) else { return }
        let name = await gateways.name(index)
        let downFor = random.seconds(0.5 * settings.restartAfter...1.5 * settings.restartAfter)
        await gateways.kill(index)
        log.add("gateway-kill", "\(name) SIGKILLed; restarting after \(SoakOutput.seconds(downFor))")
        try? await Task.sleep(for: .seconds(downFor))
        let restarting = ContinuousClock.now
        await gateways.restart(index)
        log.add("gateway-restart", "\(name) ready \(SoakOutput.seconds((ContinuousClock.now - restarting) / .seconds(1))) after its restart")
    }

    /// Takes a broker down and brings it back up.
    private func brokerOutage(_ random: inout SeededGenerator) async {
        let broker = Int.random(in: 1...kafka.brokers, using: &random)
        let downFor = random.seconds(0.5 * settings.brokerDown...1.5 * settings.brokerDown)
        let down = await kafka.command("down \(broker)")
        log.add("broker-outage", "broker \(broker) down for \(SoakOutput.seconds(downFor)) (\(down))")
        try? await Task.sleep(for: .seconds(downFor))
        let up = await kafka.command("up \(broker)")
        if up != "ok" { log.add("broker-up-failed", "broker \(broker): \(up)") }
    }

    /// Moves the leader of a `chat.rooms` partition to another broker.
    private func moveLeader(_ random: inout SeededGenerator) async {
        let partition = Int.random(in: 0..<settings.partitions, using: &random)
        let broker = Int.random(in: 1...kafka.brokers, using: &random)
        let answer = await kafka.command("leader chat.rooms \(partition) \(broker)")
        log.add("leader-move", "chat.rooms partition \(partition) to broker \(broker) (\(answer))")
    }

    /// A few sessions stop reading for a while; the server may drop them (4008 when their queue
    /// overflows, or a missed ping), and they then reconnect and resume by cursor.
    private func slowClients(_ random: inout SeededGenerator) async {
        let count = Int.random(in: 1...max(1, min(settings.slowSessions, users.count)), using: &random)
        let chosen = Array(users.shuffled(using: &random).prefix(count))
        let pauses = chosen.map { _ in random.seconds(min(3, settings.slowPause)...settings.slowPause) }
        log.add("slow-clients", zip(chosen, pauses).map { "\($0.name) \(SoakOutput.seconds($1))" }.joined(separator: ", "))
        await withTaskGroup(of: Void.self) { group in
            for (user, pause) in zip(chosen, pauses) {
                group.addTask { await user.pauseReading(seconds: pause) }
            }
        }
    }

    /// Every session on one gateway drops its connection at the same moment and reconnects at once.
    private func reconnectStorm(_ random: inout SeededGenerator) async {
        guard let target = await gateways.live().randomElement(using: &random) else { return }
        var victims: [SoakUser] = []
        for user in users where await user.gateway == target.index { victims.append(user) }
        let name = await gateways.name(target.index)
        log.add("reconnect-storm", "\(victims.count) sessions of \(name) dropped at once")
        for user in victims { await user.dropForStorm() }
    }
}
