import ChatDomain
import Foundation
import GRDB

/// A verified, read-only segment. Every method blocks: call it from ``SnapshotIO``.
public final class SegmentReader: Sendable {
    public let descriptor: SegmentDescriptor
    public let path: String
    /// The partition the segment was folded from (its header says so; ``open(path:descriptor:partition:epoch:)`` checks it).
    public let partition: Int32
    private let queue: DatabaseQueue

    private init(descriptor: SegmentDescriptor, path: String, partition: Int32, queue: DatabaseQueue) {
        self.descriptor = descriptor
        self.path = path
        self.partition = partition
        self.queue = queue
    }

    /// Opens a segment after checking that its bytes are the ones the manifest recorded and that
    /// it describes the range and partition the manifest says.
    /// - Throws: ``SnapshotError/corruptSegment(path:reason:)`` for a missing, truncated or altered file.
    public static func open(path: String, descriptor: SegmentDescriptor, partition: Int32, epoch: LogEpoch) throws -> SegmentReader {
        guard FileManager.default.fileExists(atPath: path) else {
            throw SnapshotError.corruptSegment(path: path, reason: "the file is missing")
        }
        let (hex, bytes) = try DurableFiles.sha256(path: path)
        guard bytes == descriptor.bytes else {
            throw SnapshotError.corruptSegment(path: path, reason: "\(bytes) bytes instead of \(descriptor.bytes): truncated or overwritten")
        }
        guard hex == descriptor.sha256 else {
            throw SnapshotError.corruptSegment(path: path, reason: "sha256 \(hex) instead of \(descriptor.sha256)")
        }
        var configuration = Configuration()
        configuration.readonly = true
        configuration.label = descriptor.file
        let queue: DatabaseQueue
        let header: [String: String]
        do {
            queue = try DatabaseQueue(path: path, configuration: configuration)
            header = try queue.read { db in
                Dictionary(
                    uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT key, value FROM segment").map { ($0[0] as String, $0[1] as String) })
            }
        } catch {
            throw SnapshotError.corruptSegment(path: path, reason: "SQLite cannot read it: \(error)")
        }
        let expected = [
            "partition": String(partition), "epoch": epoch.description, "from_offset": String(descriptor.from), "to_offset": String(descriptor.to),
        ]
        for (key, value) in expected where header[key] != value {
            throw SnapshotError.corruptSegment(path: path, reason: "its \(key) is \(header[key] ?? "missing"), the manifest says \(value)")
        }
        guard let format = header["format"].flatMap(Int.init), format <= SegmentFile.format else {
            throw SnapshotError.incompatible("\(path) has segment format \(header["format"] ?? "?"); upgrade this build")
        }
        return SegmentReader(descriptor: descriptor, path: path, partition: partition, queue: queue)
    }

    /// The room's messages before `offset`, newest first.
    public func messages(room: String, before offset: Int64, limit: Int) throws -> [ChatMessage] {
        try queue.read { db in
            try SegmentRows.messages(
                db, sql: "SELECT * FROM messages WHERE room = ? AND msg_offset < ? ORDER BY msg_offset DESC LIMIT ?",
                arguments: [room, offset, limit])
        }
    }

    /// The room's messages after `offset`, oldest first.
    public func messages(room: String, after offset: Int64, limit: Int) throws -> [ChatMessage] {
        try queue.read { db in
            try SegmentRows.messages(
                db, sql: "SELECT * FROM messages WHERE room = ? AND msg_offset > ? ORDER BY msg_offset LIMIT ?", arguments: [room, offset, limit])
        }
    }

    public func message(at offset: Int64) throws -> ChatMessage? {
        try queue.read { db in
            try SegmentRows.messages(db, sql: "SELECT * FROM messages WHERE msg_offset = ?", arguments: [offset]).first
        }
    }

    /// The room's amendments after `offset` (all of them with `-1`), offset order.
    public func amendments(room: String, after offset: Int64 = -1, pendingOnly: Bool = false) throws -> [SnapshotAmendment] {
        try queue.read { db in
            try SegmentRows.amendments(
                db,
                sql: "SELECT * FROM amendments WHERE room = ? AND event_offset > ? \(pendingOnly ? "AND pending = 1" : "") ORDER BY event_offset",
                arguments: [room, offset])
        }
    }

    /// Whether the segment holds anything of the room.
    public func mentions(room: String) throws -> Bool {
        try queue.read { db in try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM rooms WHERE room = ?)", arguments: [room]) ?? false }
    }

    /// The rooms of the segment with their visible message counts.
    public func rooms() throws -> [String: Int] {
        try queue.read { db in
            Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: "SELECT room, messages FROM rooms").map { ($0[0] as String, $0[1] as Int) })
        }
    }

    /// The duplicate window at the segment's end.
    public func window() throws -> [WindowEntry] {
        try queue.read { db in try SegmentRows.window(db) }
    }

    /// The segment's visible posts (deleted ones included) in `from..<to`, offset order.
    public func posts(from: Int64, to: Int64) throws -> [WindowEntry] {
        try queue.read { db in
            try SegmentRows.window(
                db, sql: "SELECT * FROM posts WHERE post_offset >= ? AND post_offset < ? ORDER BY post_offset", arguments: [from, to])
        }
    }

    /// The segment's visible membership events, offset order (none in a format-1 file, written
    /// before membership existed).
    public func membershipEvents() throws -> [LoggedRoomEvent] {
        let partition = self.partition
        return try queue.read { db in try SegmentRows.membership(db, partition: partition) }
    }

    /// Everything the segment holds (tests and tools).
    public func contents() throws -> SegmentContents {
        try queue.read { db in
            SegmentContents(
                from: descriptor.from, to: descriptor.to,
                messages: try SegmentRows.messages(db, sql: "SELECT * FROM messages ORDER BY msg_offset", arguments: []),
                amendments: try SegmentRows.amendments(db, sql: "SELECT * FROM amendments ORDER BY event_offset", arguments: []),
                window: try SegmentRows.window(db),
                posts: try SegmentRows.window(db, sql: "SELECT * FROM posts ORDER BY post_offset"),
                membershipEvents: try SegmentRows.membership(db, partition: partition))
        }
    }

    public func close() {
        try? queue.close()
    }
}
