import Foundation

/// One user of the soak with one session at a time, behaving as a careful client should:
///
/// - it connects to a random live gateway and joins its rooms, each with `since` = the last cursor
///   it saw in that room, so a reconnect resumes with no gap;
/// - it keeps every send until its ack arrives; sends without an ack when a connection ends go out
///   again after the next join with the same `cmid`, so the server must answer with the original
///   message's ack instead of writing a second message;
/// - it records every `message`, `ack` and `joined` it gets, for the audit.
actor SoakUser {
    let name: String
    let rooms: [String]
    private let token: String
    private let gateways: GatewayPool
    private let counters: SoakCounters
    private let started: ContinuousClock.Instant
    private var random: SeededGenerator
    /// A send with neither ack nor error for this long is sent again on the same connection.
    private let replyTimeout: Duration
    /// The client's own pace for `send` frames (a token bucket below the gateway's limit of 50/s,
    /// burst 100, which joins share). Without it, a reconnect that resends a long backlog trips
    /// the server's limiter, 50 refusals close the session (4029), the reconnect resends it all
    /// again, and the soak turns into a retry storm of its own making.
    private let sendRate: Double = 20
    private let sendBurst: Double = 40
    private var tokens: Double = 40
    private var tokensAt = ContinuousClock.now
    /// Sends waiting for a token, in order.
    private var paced: [String] = []

    private var connection: SoakConnection?
    /// Numbers this user's connections; request ids carry it, so a late reply on an old connection is told apart.
    private var connectionNumber = 0
    private var joinedNow: Set<String> = []
    private var sentSince: [String: String?] = [:]
    private var joinFailed = false
    private var ready = false
    private var stopping = false
    private var reconnectAtOnce = false
    private var pausedConnection: Int?
    private var lastCursor: [String: String] = [:]
    /// Sends without an ack, in the order they were posted.
    private var pending: [String] = []
    private var lastAttempt: [String: ContinuousClock.Instant] = [:]
    private var deliveredOffsets: [String: Set<Int64>] = [:]
    private var posted = 0
    private var record: SessionRecord

    init(
        name: String, rooms: [String], token: String, gateways: GatewayPool, counters: SoakCounters, random: SeededGenerator,
        started: ContinuousClock.Instant, replyTimeout: Duration = .seconds(45)
    ) {
        self.name = name
        self.rooms = rooms
        self.token = token
        self.gateways = gateways
        self.counters = counters
        self.random = random
        self.started = started
        self.replyTimeout = replyTimeout
        record = SessionRecord(user: name, rooms: rooms)
    }

    private var now: Double { (ContinuousClock.now - started) / .seconds(1) }

    // MARK: The connection loop

    /// Connects, joins, serves and reconnects until ``stop()``.
    func run() async {
        while !stopping {
            let live = await gateways.live()
            guard let target = live.randomElement(using: &random) else {
                try? await Task.sleep(for: .milliseconds(200))
                continue
            }
            let connection: SoakConnection
            do {
                connection = try await SoakConnection.connect(gateway: target.index, port: target.port, token: token) { text in
                    await self.receive(text)
                }
            } catch {
                counters.add(.connectFailures)
                try? await Task.sleep(for: .milliseconds(Int.random(in: 100...500, using: &random)))
                continue
            }
            await serve(connection)
            if !stopping && !reconnectAtOnce {
                // A little jitter, as clients have; a storm reconnects at once on purpose.
                try? await Task.sleep(for: .milliseconds(Int.random(in: 20...300, using: &random)))
            }
            reconnectAtOnce = false
        }
    }

    private func serve(_ connection: SoakConnection) async {
        connectionNumber += 1
        record.connections += 1
        counters.add(.connections)
        self.connection = connection
        joinedNow = []
        joinFailed = false
        for room in rooms {
            let since = lastCursor[room]
            sentSince[room] = since
            var request: [String: Any] = ["op": "join", "room": room, "id": "j|\(room)|\(connectionNumber)"]
            if let since { request["since"] = since }
            connection.send(Self.encode(request))
        }
        let deadline = ContinuousClock.now + .seconds(20)
        while joinedNow.count < rooms.count, !joinFailed, !connection.isEnded, !stopping, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        if joinedNow.count == rooms.count, !connection.isEnded, !stopping {
            ready = true
            counters.add(.readySessions)
            for cmid in pending { transmit(cmid) }
            var ticks = 0
            while !connection.isEnded, !stopping {
                try? await Task.sleep(for: .milliseconds(50))
                releasePaced()
                ticks += 1
                if ticks % 20 == 0 { resendOverdue() }
            }
            ready = false
            paced = []
            counters.add(.readySessions, -1)
        } else if !connection.isEnded {
            // A join failed or took too long (e.g. Kafka unreachable): start over on a new connection.
            record.errors["join timeout or failure", default: 0] += 1
            connection.abort()
        }
        if stopping { connection.close() }
        await connection.waitForEnd()
        let code = connection.closeCode.map(String.init) ?? "none"
        record.closeCodes[code, default: 0] += 1
        if pausedConnection == connectionNumber, !stopping, !reconnectAtOnce {
            record.droppedWhileSlow += 1
        }
        pausedConnection = nil
        self.connection = nil
    }

    // MARK: Frames from the server

    private func receive(_ text: String) {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any],
            let op = object["op"] as? String
        else {
            record.errors["unparsable frame", default: 0] += 1
            return
        }
        switch op {
        case "message":
            guard let room = object["room"] as? String, let cursor = object["cursor"] as? String, let offset = Self.offset(cursor) else {
                record.errors["message without room or cursor", default: 0] += 1
                return
            }
            record.deliveries[room, default: []].append(
                .init(
                    offset: offset, msgId: object["msgId"] as? String ?? "", from: object["from"] as? String ?? "",
                    cmid: object["cmid"] as? String ?? "", at: now, connection: connectionNumber))
            deliveredOffsets[room, default: []].insert(offset)
            lastCursor[room] = cursor
            counters.add(.delivered)

        case "ack":
            guard let room = object["room"] as? String, let cmid = object["cmid"] as? String, let msgId = object["msgId"] as? String,
                let cursor = object["cursor"] as? String, let offset = Self.offset(cursor)
            else {
                record.errors["ack without room, cmid, msgId or cursor", default: 0] += 1
                return
            }
            record.acks.append(
                .init(room: room, cmid: cmid, msgId: msgId, offset: offset, timestamp: (object["ts"] as? NSNumber)?.int64Value ?? 0, at: now))
            if let index = pending.firstIndex(of: cmid) {
                pending.remove(at: index)
                lastAttempt[cmid] = nil
                record.sends[cmid]?.ackedAt = now
                counters.add(.acked)
            }

        case "joined":
            guard let id = object["id"] as? String, let room = object["room"] as? String,
                let cursor = object["cursor"] as? String, let offset = Self.offset(cursor)
            else { return }
            guard id == "j|\(room)|\(connectionNumber)" else { return }
            joinedNow.insert(room)
            let since = sentSince[room] ?? nil
            record.joins.append(
                .init(
                    room: room, since: since, recovered: object["recovered"] as? Bool ?? false, cursorOffset: offset, at: now,
                    connection: connectionNumber, gateway: connection?.gateway ?? -1))
            if record.startOffset[room] == nil {
                record.startOffset[room] = offset
            }
            if lastCursor[room] == nil {
                lastCursor[room] = cursor
            }

        case "error":
            let code = object["code"] as? String ?? "unknown"
            record.errors[code, default: 0] += 1
            guard let id = object["id"] as? String else {
                // An error outside any request: a room's catch-up from the log failed and the
                // subscription was dropped ("join again"). Reconnect, which rejoins by cursor.
                connection?.abort()
                return
            }
            let parts = id.split(separator: "|").map(String.init)
            if parts.first == "j" {
                joinFailed = true
            } else if parts.first == "s", parts.count == 3 {
                // unavailable (Kafka did not confirm), rate_limited, ...: the same cmid again shortly.
                if code == "rate_limited" { tokens = 0 }
                let cmid = parts[1]
                let number = connectionNumber
                Task {
                    try? await Task.sleep(for: .seconds(1))
                    self.retry(cmid, onConnection: number)
                }
            }

        default:
            break  // presence, typing, read: not audited
        }
    }

    // MARK: Sending

    /// Posts a new message to `room` (queued while not connected, as a client's outbox does).
    func post(room: String) {
        posted += 1
        let cmid = "\(name)-\(posted)"
        record.sends[cmid] = SessionRecord.Send(room: room, cmid: cmid)
        pending.append(cmid)
        counters.add(.posted)
        if ready { transmit(cmid) }
    }

    /// Sends `cmid` now if the pace allows, else queues it behind the others waiting.
    private func transmit(_ cmid: String) {
        guard ready, record.sends[cmid] != nil else { return }
        refill()
        if paced.isEmpty, tokens >= 1 {
            tokens -= 1
            write(cmid)
        } else if !paced.contains(cmid) {
            paced.append(cmid)
        }
    }

    private func releasePaced() {
        refill()
        while tokens >= 1, !paced.isEmpty {
            let cmid = paced.removeFirst()
            guard pending.contains(cmid) else { continue }
            tokens -= 1
            write(cmid)
        }
    }

    private func refill() {
        let now = ContinuousClock.now
        tokens = min(sendBurst, tokens + (now - tokensAt) / .seconds(1) * sendRate)
        tokensAt = now
    }

    private func write(_ cmid: String) {
        guard let connection, let send = record.sends[cmid] else { return }
        record.sends[cmid]?.attempts.append(now)
        record.sends[cmid]?.attemptWallMilliseconds.append(Int64(Date().timeIntervalSince1970 * 1000))
        lastAttempt[cmid] = .now
        if send.attempts.count >= 1 { counters.add(.retries) }
        let attempt = send.attempts.count + 1
        connection.send(
            Self.encode(["op": "send", "room": send.room, "cmid": cmid, "body": "soak \(cmid)", "id": "s|\(cmid)|\(attempt)"]))
    }

    private func retry(_ cmid: String, onConnection number: Int) {
        guard number == connectionNumber, pending.contains(cmid) else { return }
        transmit(cmid)
    }

    private func resendOverdue() {
        let cutoff = ContinuousClock.now - replyTimeout
        for cmid in pending where (lastAttempt[cmid] ?? .now) < cutoff {
            record.errors["no reply within \(replyTimeout)", default: 0] += 1
            transmit(cmid)
        }
    }

    // MARK: Faults and control

    /// Stops reading for `seconds` (a slow client). The server may drop the connection meanwhile.
    func pauseReading(seconds: Double) async {
        guard let connection else { return }
        pausedConnection = connectionNumber
        connection.setPaused(true)
        try? await Task.sleep(for: .seconds(seconds))
        connection.setPaused(false)
    }

    /// The gateway this session is on, when it is connected and joined.
    var gateway: Int? { ready ? connection?.gateway : nil }

    /// Drops the connection without a close handshake and reconnects at once (a reconnect storm).
    func dropForStorm() {
        guard let connection else { return }
        reconnectAtOnce = true
        connection.abort()
    }

    /// Sends without an ack, and distinct delivered offsets per room (for the drain).
    func progress() -> (pending: Int, delivered: [String: Int], ackedOffsets: [String: Set<Int64>]) {
        var acked: [String: Set<Int64>] = [:]
        for ack in record.acks { acked[ack.room, default: []].insert(ack.offset) }
        return (pending.count, deliveredOffsets.mapValues(\.count), acked)
    }

    var isReady: Bool { ready }

    /// Closes the session for good.
    func stop() {
        stopping = true
        connection?.close()
    }

    func finalRecord() -> SessionRecord { record }

    // MARK: Helpers

    /// The offset of a cursor `<epoch>.<partition>.<offset>`.
    static func offset(_ cursor: String) -> Int64? {
        cursor.split(separator: ".").last.flatMap { Int64($0) }
    }

    private static func encode(_ object: [String: Any]) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: object)) ?? Data(), as: UTF8.self)
    }
}
