import Foundation

/// One soak from start to verdict: a `chatctl kafka` cluster and the gateways as child processes,
/// the users connected, load and faults for `duration` seconds, a quiet drain, then the audit.
struct SoakRun {
    let settings: SoakSettings
    /// A secret of at least 32 bytes, as `chatd --jwt-secret` requires; only this run knows it.
    private let secret = "chat-soak-" + UUID().uuidString + "-hs256"

    func run() async -> SoakReport {
        let started = ContinuousClock.now
        let workDirectory = URL(fileURLWithPath: settings.workDirectory)
        var report = SoakReport(settings: settings, startedAt: ISO8601DateFormatter().string(from: Date()))
        var random = SeededGenerator(seed: settings.seed)
        let counters = SoakCounters()
        let faults = FaultLog(started: started, verbose: true)

        // The cluster and the gateways.
        let kafka: KafkaCluster
        do {
            kafka = try await KafkaCluster.start(
                chatctl: settings.chatctl, brokers: settings.brokers, partitions: settings.partitions,
                log: workDirectory.appendingPathComponent("kafka.log"))
        } catch {
            report.checks = [Check("setup", passed: false, "\(error)")]
            return report
        }
        SoakOutput.progress("kafka: \(kafka.bootstrap) (\(settings.brokers) brokers, \(settings.partitions) partitions)")
        let gatewayArguments = [
            "--ping-interval", "\(settings.pingInterval)", "--log-level", "warning",
            "--kafka-consumer-property", "fetch.wait.max.ms=\(settings.fetchWaitMs)",
        ]
        let gateways = GatewayPool(
            count: settings.gateways, basePort: settings.basePort, chatd: settings.chatd, brokers: kafka.bootstrap, secret: secret,
            extraArguments: gatewayArguments, logDirectory: workDirectory, started: started)
        do {
            for index in 0..<settings.gateways { try await gateways.start(index) }
        } catch {
            report.checks = [Check("setup", passed: false, "\(error)")]
            await gateways.stopAll()
            await kafka.stop()
            return report
        }
        SoakOutput.progress("gateways ready on ports \(settings.basePort)...\(settings.basePort + settings.gateways - 1)")

        // The users, each joined to its rooms before the first message.
        let plan = RoomPlan(users: settings.users, rooms: settings.rooms, random: &random)
        let minter = TokenMinter(secret: secret)
        let lifetime = settings.duration + settings.drainTimeout + 3600
        let users = plan.users.map { user in
            SoakUser(
                name: user, rooms: plan.roomsOf[user]!, token: (try? minter.token(user: user, lifetime: lifetime)) ?? "",
                gateways: gateways, counters: counters, random: random.derived("session \(user)"), started: started)
        }
        let sessions = users.map { user in Task { await user.run() } }
        let allJoined = await waitUntil(timeout: .seconds(60)) { counters.value(.readySessions) == users.count }
        report.users = users.count
        report.memberships = plan.memberships
        let setup = Check(
            "setup", passed: allJoined,
            "chatctl kafka (\(settings.brokers) brokers) and \(settings.gateways) gateways ready; "
                + "\(counters.value(.readySessions)) of \(users.count) users joined \(plan.memberships) room memberships in \(settings.rooms) rooms")

        // Watchers: memory, crashes, progress.
        let memory = MemoryMonitor(gateways: gateways, kafka: kafka.process, started: started)
        let watchers = [
            Task { await memory.run(every: .seconds(2)) },
            Task {
                while !Task.isCancelled {
                    await gateways.reapCrashes()
                    try? await Task.sleep(for: .seconds(1))
                }
            },
            Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: .seconds(settings.progressEvery))
                    progressLine(started: started, counters: counters, faults: faults, users: users.count)
                }
            },
        ]

        // Load and faults.
        if allJoined {
            SoakOutput.progress("soak: \(settings.duration) s at \(settings.rate) messages/s, seed \(settings.seed)")
            let loadStart = ContinuousClock.now
            let end = loadStart + .seconds(settings.duration)
            let chaos = ChaosMonkey(
                settings: settings.chaos, gateways: gateways, kafka: kafka, users: users, log: faults, random: random.derived("chaos"))
            let traffic = TrafficGenerator(users: users, rate: settings.rate, random: random.derived("traffic"))
            let duration = settings.duration
            async let faultsDone: Void = chaos.run(until: end, duration: duration)
            async let trafficDone: Void = {
                var traffic = traffic
                await traffic.run(until: end)
            }()
            async let midMarked: Void = {
                try? await Task.sleep(until: loadStart + .seconds(duration / 2))
                await memory.markMid()
            }()
            _ = await (faultsDone, trafficDone, midMarked)

            // The drain: no new messages, no faults; wait for every send's ack and every delivery.
            SoakOutput.progress("load and faults over; draining (at most \(Int(settings.drainTimeout)) s)")
            let drainStart = ContinuousClock.now
            _ = await waitUntil(timeout: .seconds(settings.drainTimeout)) { await drained(users) }
            report.drainSeconds = ((ContinuousClock.now - drainStart) / .seconds(1) * 10).rounded() / 10
            await memory.markEnd()
        }

        // Stop everything, then judge.
        for user in users { await user.stop() }
        for session in sessions { await session.value }
        for watcher in watchers { watcher.cancel() }
        for watcher in watchers { await watcher.value }
        await gateways.stopAll()
        await kafka.stop()
        report.wallSeconds = ((ContinuousClock.now - started) / .seconds(1) * 10).rounded() / 10

        var records: [String: SessionRecord] = [:]
        for user in users { records[user.name] = await user.finalRecord() }
        report.posted = counters.value(.posted)
        report.acked = counters.value(.acked)
        report.retries = counters.value(.retries)
        report.deliveries = counters.value(.delivered)
        report.connections = counters.value(.connections)
        report.connectFailures = counters.value(.connectFailures)
        let latencies = records.values.flatMap { $0.sends.values.compactMap { send in send.ackedAt.map { $0 - (send.attempts.first ?? $0) } } }
            .sorted()
        if !latencies.isEmpty {
            func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }
            report.ackLatencyP50 = rounded(latencies[latencies.count / 2])
            report.ackLatencyP99 = rounded(latencies[min(latencies.count - 1, latencies.count * 99 / 100)])
            report.ackLatencyMax = rounded(latencies.last!)
        }
        for record in records.values {
            report.droppedWhileSlow += record.droppedWhileSlow
            report.errors.merge(record.errors, uniquingKeysWith: +)
            report.closeCodes.merge(record.closeCodes, uniquingKeysWith: +)
        }
        report.faultEvents = faults.all
        for event in report.faultEvents { report.faults[event.kind, default: 0] += 1 }
        report.gatewayCrashes = await gateways.crashes
        report.restartFailures = await gateways.restartFailures
        report.gatewaysLost = await gateways.lost
        report.memoryMid = await memory.mid
        report.memoryEnd = await memory.end
        report.memorySamples = await memory.samples

        report.checks = [setup]
        guard allJoined else { return report }
        report.checks += DeliveryAudit(plan: plan, records: records).checks()
        report.checks.append(gatewayCheck(report))
        report.checks.append(faultCheck(report))
        report.checks.append(await memoryCheck(report, memory: memory))
        return report
    }

    /// True once no send waits for its ack and every session has as many distinct messages in each
    /// of its rooms as the room has acked messages.
    private func drained(_ users: [SoakUser]) async -> Bool {
        var acked: [String: Set<Int64>] = [:]
        var progress: [(pending: Int, delivered: [String: Int])] = []
        for user in users {
            let state = await user.progress()
            guard state.pending == 0 else { return false }
            acked.merge(state.ackedOffsets) { $0.union($1) }
            progress.append((state.pending, state.delivered))
        }
        for (user, state) in zip(users, progress) {
            for room in user.rooms where (state.delivered[room] ?? 0) < (acked[room]?.count ?? 0) { return false }
        }
        return true
    }

    private func gatewayCheck(_ report: SoakReport) -> Check {
        let crashes = report.gatewayCrashes.map {
            "gw\($0.gateway + 1) incarnation \($0.incarnation) (pid \($0.pid)) ended with \($0.status) at \(SoakOutput.seconds($0.atSeconds))"
        }
        let kills = report.faults["gateway-kill"] ?? 0
        return Check(
            "gateways did not crash", passed: crashes.isEmpty && report.gatewaysLost.isEmpty,
            "\(crashes.count) unexpected exits; \(kills) SIGKILLs by the soak, "
                + (report.gatewaysLost.isEmpty ? "each restarted" : "\(report.gatewaysLost.count) not restarted")
                + (report.restartFailures.isEmpty ? "" : "; \(report.restartFailures.count) restart attempts failed"),
            examples: crashes + report.gatewaysLost + report.restartFailures)
    }

    private func faultCheck(_ report: SoakReport) -> Check {
        let chaos = settings.chaos
        let enabled: [(String, Double)] = [
            ("gateway-kill", chaos.killEvery), ("broker-outage", chaos.brokerEvery), ("leader-move", chaos.leaderEvery),
            ("slow-clients", chaos.slowEvery), ("reconnect-storm", chaos.stormEvery),
        ]
        let missing = enabled.filter { $0.1 > 0 && (report.faults[$0.0] ?? 0) == 0 }.map(\.0)
        let counts = enabled.filter { $0.1 > 0 }.map { "\($0.0) \(report.faults[$0.0] ?? 0)" }.joined(separator: ", ")
        let stormed = report.faultEvents.filter { $0.kind == "reconnect-storm" }.compactMap { Int($0.detail.split(separator: " ").first ?? "") }
            .reduce(0, +)
        return Check(
            "faults injected", passed: missing.isEmpty,
            (counts.isEmpty ? "none enabled" : counts)
                + "; \(stormed) sessions dropped in storms, \(report.droppedWhileSlow) slow sessions dropped by the server"
                + (missing.isEmpty ? "" : "; never happened: \(missing.joined(separator: ", "))"))
    }

    private func memoryCheck(_ report: SoakReport, memory: MemoryMonitor) async -> Check {
        var lines: [String] = []
        var over: [String] = []
        for mid in report.memoryMid {
            guard let end = report.memoryEnd.first(where: { $0.gateway == mid.gateway && $0.incarnation == mid.incarnation }) else { continue }
            let growth = Double(end.kib - mid.kib) / Double(mid.kib) * 100
            let peak = await memory.peak(gateway: mid.gateway, incarnation: mid.incarnation) ?? end.kib
            let line =
                "gw\(mid.gateway + 1) (pid \(mid.pid)) \(Self.mib(mid.kib)) at mid-run, \(Self.mib(end.kib)) at the end ("
                + String(format: "%+.1f%%", growth) + "), peak \(Self.mib(peak))"
            lines.append(line)
            if growth > settings.rssTolerancePercent { over.append(line) }
        }
        var kafkaNote = ""
        if let (first, last) = await memory.kafkaRange() {
            kafkaNote = "; kafka process \(Self.mib(first)) → \(Self.mib(last)) (not judged: the mock brokers keep every record)"
        }
        guard !lines.isEmpty else {
            return .skip("memory stable", "no gateway process lived through the second half (all were killed)" + kafkaNote)
        }
        return Check(
            "memory stable", passed: over.isEmpty,
            lines.joined(separator: "; ") + "; tolerance +\(settings.rssTolerancePercent)%" + kafkaNote, examples: over)
    }

    private static func mib(_ kib: Int) -> String {
        String(format: "%.1f MiB", Double(kib) / 1024)
    }

    private func progressLine(started: ContinuousClock.Instant, counters: SoakCounters, faults: FaultLog, users: Int) {
        let elapsed = (ContinuousClock.now - started) / .seconds(1)
        let faultCounts = ["gateway-kill", "broker-outage", "leader-move", "slow-clients", "reconnect-storm"]
            .map { "\($0) \(faults.count($0))" }.joined(separator: " ")
        SoakOutput.progress(
            "[\(SoakOutput.seconds(elapsed))] posted \(counters.value(.posted)) acked \(counters.value(.acked)) "
                + "delivered \(counters.value(.delivered)) retries \(counters.value(.retries)) | sessions \(counters.value(.readySessions))/\(users) "
                + "connections \(counters.value(.connections)) | faults: \(faultCounts)")
    }

    /// Polls `condition` every 100 ms until it holds or `timeout` passes; whether it held.
    private func waitUntil(timeout: Duration, _ condition: () async -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await condition() { return true }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return await condition()
    }
}
