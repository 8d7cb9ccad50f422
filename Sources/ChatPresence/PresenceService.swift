import ChatDomain
import Foundation
import Kafka
import Logging
import ServiceLifecycle

/// A node's presence: publishes its own users' presence and its heartbeat to the compacted
/// `chat.presence` topic, reads everyone's into a ``PresenceTable``, answers `presence` queries and
/// pushes `presence.changed` to local sessions of the rooms concerned.
public actor PresenceService: Service {
    let configuration: PresenceConfiguration
    let producer: KafkaProducer
    let admin: KafkaAdmin
    let logger: Logger
    /// Identifies this run of the node, so a restart with the same id withdraws the old run's users.
    public nonisolated let incarnation = Int64(Date().timeIntervalSince1970 * 1000)
    private var table: PresenceTable
    private let partitionCount: Int32
    private var local: LocalPresence
    private var listeners: [String: [ObjectIdentifier: any PresenceListener]] = [:]
    private var caughtUp = false

    /// - Parameter partitionCount: partitions of `chat.presence`.
    public init(configuration: PresenceConfiguration, partitionCount: Int32, producer: KafkaProducer, admin: KafkaAdmin, logger: Logger) {
        self.configuration = configuration
        self.partitionCount = partitionCount
        self.producer = producer
        self.admin = admin
        self.logger = logger
        self.table = PresenceTable(staleAfter: configuration.staleAfter.wholeMilliseconds)
        self.local = LocalPresence(node: configuration.nodeID, incarnation: incarnation)
    }

    public func run() async throws {
        publish(.node(heartbeat(up: true)))
        let consumer = try KafkaConsumer(configuration: configuration.kafka, bufferCapacity: 10_000, logger: logger)
        do {
            try await consumer.assign((0..<partitionCount).map { KafkaTopicPartition(topic: ChatTopics.presence, partition: $0, offset: .beginning) })
            var ends: [Int32: Int64] = [:]
            for partition in 0..<partitionCount {
                ends[partition] = try await admin.watermarks(topic: ChatTopics.presence, partition: partition).high
            }
            let startEnds = ends
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.consume(consumer, until: startEnds) }
                group.addTask { await self.tick() }
                try? await gracefulShutdown()
                group.cancelAll()
            }
        } catch {
            logger.error("presence stopped", metadata: ["error": "\(error)"])
        }
        await consumer.close()
        // A clean shutdown withdraws this node's users at once instead of after `staleAfter`.
        publish(.node(heartbeat(up: false)))
    }

    private func consume(_ consumer: KafkaConsumer, until ends: [Int32: Int64]) async {
        var remaining = ends.filter { $0.value > 0 }
        if remaining.isEmpty { finishCatchingUp() }
        do {
            for try await record in consumer.records {
                if let presence = PresenceRecord(decoding: record.value) { apply(presence) }
                if !caughtUp, let end = remaining[record.partition], record.offset >= end - 1 {
                    remaining[record.partition] = nil
                    if remaining.isEmpty { finishCatchingUp() }
                }
            }
        } catch {
            if !(error is CancellationError) { logger.warning("presence consumer ended", metadata: ["error": "\(error)"]) }
        }
    }

    /// Once the table holds what was written before this run, withdraw the users an earlier run
    /// of this node left online (it crashed), so no ghost stays.
    private func finishCatchingUp() {
        caughtUp = true
        let now = WallClock.milliseconds()
        for leftover in table.leftovers(of: configuration.nodeID, currentIncarnation: incarnation) {
            // Rooms first: the user record of the old run then finds none left.
            for room in leftover.rooms.sorted() {
                publish(
                    .room(
                        RoomPresence(
                            user: leftover.user, node: leftover.node, room: room, incarnation: leftover.incarnation, online: false, timestamp: now)))
            }
            var withdrawn = leftover
            withdrawn.online = false
            withdrawn.rooms = []
            withdrawn.timestamp = now
            publish(.user(withdrawn))
        }
    }

    private func tick() async {
        var sinceHeartbeat = Duration.zero
        let step = Duration.milliseconds(250)
        while !Task.isCancelled {
            do { try await Task.sleep(for: step) } catch { return }
            sinceHeartbeat += step
            if sinceHeartbeat >= configuration.heartbeatInterval {
                sinceHeartbeat = .zero
                publish(.node(heartbeat(up: true)))
            }
            dispatch(table.expire(now: monotonicMilliseconds()))
        }
    }

    private func apply(_ record: PresenceRecord) {
        // This node's own user records are applied when written, not when read back, so an older
        // record read back cannot briefly undo a newer one.
        switch record {
        case .user(let presence) where presence.node == configuration.nodeID && presence.incarnation == incarnation: return
        case .room(let presence) where presence.node == configuration.nodeID && presence.incarnation == incarnation: return
        default: break
        }
        dispatch(table.apply(record, now: monotonicMilliseconds()))
    }

    private func dispatch(_ changes: [PresenceTable.Change]) {
        for change in changes {
            guard let roomListeners = listeners[change.room], !roomListeners.isEmpty else { continue }
            var writer = JSONWriter()
            writer.add("op", "presence.changed")
            writer.add("room", change.room)
            writer.add("user", change.user)
            writer.add("status", change.online ? "online" : "offline")
            let frame = writer.finish()
            for (id, listener) in roomListeners where !listener.deliver(frame) {
                listeners[change.room]?[id] = nil
            }
        }
    }

    // MARK: Local sessions

    public func sessionOpened(user: String, listener: any PresenceListener) {
        publishLocal(local.sessionOpened(ObjectIdentifier(listener), user: user, timestamp: WallClock.milliseconds()))
    }

    /// Withdraws what this session held: its rooms (unless another session of the user is in
    /// them) and the user when it was their last session here.
    public func sessionClosed(user: String, listener: any PresenceListener) {
        let id = ObjectIdentifier(listener)
        for room in listeners.keys { listeners[room]?[id] = nil }
        publishLocal(local.sessionClosed(id, timestamp: WallClock.milliseconds()))
    }

    public func joined(user: String, room: RoomName, listener: any PresenceListener) {
        listeners[room.value, default: [:]][ObjectIdentifier(listener)] = listener
        publishLocal(local.joined(ObjectIdentifier(listener), room: room.value, timestamp: WallClock.milliseconds()))
    }

    public func left(user: String, room: RoomName, listener: any PresenceListener) {
        listeners[room.value]?[ObjectIdentifier(listener)] = nil
        publishLocal(local.left(ObjectIdentifier(listener), room: room.value, timestamp: WallClock.milliseconds()))
    }

    /// The users online in `room`, on any node.
    public func online(in room: RoomName) -> [String] {
        table.online(in: room.value)
    }

    public func isOnline(_ user: String) -> Bool {
        table.isOnline(user)
    }

    public var knownUsers: Int { table.userCount }

    // MARK: Publishing

    /// Applies this node's own records at once and publishes them in order.
    private func publishLocal(_ records: [PresenceRecord]) {
        for record in records {
            dispatch(table.apply(record, now: monotonicMilliseconds()))
            publish(record)
        }
    }

    private func heartbeat(up: Bool) -> NodeHeartbeat {
        NodeHeartbeat(node: configuration.nodeID, incarnation: incarnation, timestamp: WallClock.milliseconds(), up: up)
    }

    /// Enqueues in call order (records of one key must stay in order); failures are logged:
    /// the next heartbeat or change writes the current state again.
    private func publish(_ record: PresenceRecord) {
        if case .node(let heartbeat) = record { dispatch(table.apply(.node(heartbeat), now: monotonicMilliseconds())) }
        let key = record.key
        let kafkaRecord = KafkaProducerRecord(
            topic: ChatTopics.presence, partition: KeyPartitioner.partition(for: record.partitionKey, partitionCount: partitionCount),
            key: Array(key.utf8), value: record.encoded())
        do {
            let delivery = try producer.produce(kafkaRecord)
            let logger = self.logger
            Task {
                do { _ = try await delivery.position() } catch {
                    logger.warning("presence record not stored", metadata: ["key": "\(key)", "error": "\(error)"])
                }
            }
        } catch {
            logger.warning("presence record not produced", metadata: ["key": "\(key)", "error": "\(error)"])
        }
    }
}
