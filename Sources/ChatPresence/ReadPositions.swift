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
    private var positions: [String: ChatCursor] = [:]

    public init(kafka: KafkaConfiguration, partitionCount: Int32, producer: KafkaProducer, logger: Logger) {
        self.kafka = kafka
        self.partitionCount = partitionCount
        self.producer = producer
        self.logger = logger
    }

    public func run() async throws {
        let consumer = try KafkaConsumer(configuration: kafka, bufferCapacity: 10_000, logger: logger)
        do {
            try await consumer.assign((0..<partitionCount).map { KafkaTopicPartition(topic: ChatTopics.cursors, partition: $0, offset: .beginning) })
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    do {
                        for try await record in consumer.records {
                            guard let entry = ReadPositionRecord(decoding: record.value)?.entry else { continue }
                            await self.remember(entry.cursor, user: entry.user, room: entry.room)
                        }
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
