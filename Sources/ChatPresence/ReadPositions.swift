import ChatDomain
import Foundation
import Kafka
import Logging
import ServiceLifecycle

/// Users' read positions per room, kept in the compacted `chat.cursors` topic (key `user/room`)
/// and read into memory by every node.
///
/// A position only moves forward within one log epoch; a cursor from another epoch replaces it.
public actor ReadPositions: Service {
    let kafka: KafkaConfiguration
    let producer: KafkaProducer
    let partitionCount: Int32
    let logger: Logger
    let roomBounds: RoomLogBounds?
    private var positions: [String: ChatCursor] = [:]
    /// Room partitions' ends as last asked, so that only a position past them asks the broker.
    private var knownEnds: [Int32: Int64] = [:]

    /// - Parameter roomBounds: checks loaded positions against the rooms' log; without it every
    ///   well-formed position is loaded.
    public init(kafka: KafkaConfiguration, partitionCount: Int32, producer: KafkaProducer, logger: Logger, roomBounds: RoomLogBounds? = nil) {
        self.kafka = kafka
        self.partitionCount = partitionCount
        self.producer = producer
        self.logger = logger
        self.roomBounds = roomBounds
    }

    public func run() async throws {
        let consumer = try KafkaConsumer(configuration: kafka, bufferCapacity: 10_000, logger: logger)
        do {
            try await consumer.assign((0..<partitionCount).map { KafkaTopicPartition(topic: ChatTopics.cursors, partition: $0, offset: .beginning) })
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        for try await record in consumer.records { await self.load(record) }
                    } catch {}
                }
                try? await gracefulShutdown()
                group.cancelAll()
            }
        } catch {
            logger.error("read positions stopped", metadata: ["error": "\(error)"])
        }
        await consumer.close()
    }

    /// The user's read position in the room, if one was stored.
    public func position(user: String, room: RoomName) -> ChatCursor? {
        positions[Self.key(user: user, room: room)]
    }

    /// Stores a read position (visible on this node at once, on others when they read it back).
    public func store(_ cursor: ChatCursor, user: String, room: RoomName) throws(KafkaError) {
        guard remember(cursor, user: user, room: room) else { return }
        let key = Self.key(user: user, room: room)
        let record = ReadPositionRecord(user: user, room: room, cursor: cursor, timestamp: Int64(Date().timeIntervalSince1970 * 1000))
        _ = try producer.produce(
            KafkaProducerRecord(
                topic: ChatTopics.cursors, partition: KeyPartitioner.partition(for: key, partitionCount: partitionCount),
                key: Array(key.utf8), value: record.encoded()))
    }

    /// Takes in one record of `chat.cursors`, unless it is malformed or points where no reply could have.
    private func load(_ record: KafkaRecord) async {
        let place: Logger.Metadata = ["partition": "\(record.partition)", "offset": "\(record.offset)"]
        guard let entry = ReadPositionRecord(decoding: record.value)?.entry else {
            logger.warning("ignoring a read position record that is malformed or holds an invalid cursor", metadata: place)
            return
        }
        guard await admits(entry.cursor, room: entry.room) else {
            logger.warning(
                "ignoring a read position beyond its room's log",
                metadata: place.merging(["room": "\(entry.room)", "cursor": "\(entry.cursor)"]) { $1 })
            return
        }
        remember(entry.cursor, user: entry.user, room: entry.room)
    }

    /// Whether a loaded position of this epoch is on its room's partition and within its end.
    /// Positions of other epochs are kept: no reader counts unread messages from them.
    private func admits(_ cursor: ChatCursor, room: RoomName) async -> Bool {
        guard let roomBounds, cursor.epoch == roomBounds.epoch else { return true }
        let partition = roomBounds.partitioner.partition(for: room)
        guard cursor.partition == partition else { return false }
        if let end = knownEnds[partition], cursor.isWithin(end: end) { return true }
        do {
            let end = try await roomBounds.end(partition)
            knownEnds[partition] = end
            return cursor.isWithin(end: end)
        } catch {
            // Readers bound positions again at use, so keeping one unchecked cannot crash anything.
            logger.warning("cannot check a read position against its room's log end", metadata: ["room": "\(room)", "error": "\(error)"])
            return true
        }
    }

    /// Returns false when the cursor is behind the known position (nothing to store).
    @discardableResult
    private func remember(_ cursor: ChatCursor, user: String, room: RoomName) -> Bool {
        let key = Self.key(user: user, room: room)
        if let known = positions[key], known.epoch == cursor.epoch, known.offset >= cursor.offset { return false }
        positions[key] = cursor
        return true
    }

    static func key(user: String, room: RoomName) -> String { "\(user)/\(room.value)" }
}

/// The value of a `chat.cursors` record.
struct ReadPositionRecord: Codable {
    var user: String
    var room: String
    var cursor: String
    var ts: Int64

    init(user: String, room: RoomName, cursor: ChatCursor, timestamp: Int64) {
        self.user = user
        self.room = room.value
        self.cursor = cursor.description
        self.ts = timestamp
    }

    init?(decoding bytes: [UInt8]) {
        guard let decoded = try? JSONDecoder().decode(Self.self, from: Data(bytes)) else { return nil }
        self = decoded
    }

    var roomName: RoomName? { RoomName(room) }

    func encoded() -> [UInt8] { Array((try? JSONEncoder().encode(self)) ?? Data()) }
}

extension ReadPositionRecord {
    fileprivate var entry: (user: String, room: RoomName, cursor: ChatCursor)? {
        guard let room = roomName, let cursor = ChatCursor(cursor) else { return nil }
        return (user, room, cursor)
    }
}
