import ChatDomain
import Foundation
import GRDB

/// The SQLite schema of a segment and the two ways to make one: from folded log records, and by
/// merging consecutive segments. Both calls block (SQLite, fsync): run them on ``SnapshotIO``.
///
/// A segment is written under a temporary name with journaling off (nothing else sees it until
/// the manifest lists it), closed, fsynced and hashed; the caller renames it into place.
public enum SegmentFile {
    /// Version of the schema below, stored in the `segment` table.
    ///
    /// 2 added the `membership` table and the amendments' `authority` column. Format-1 files stay
    /// readable: they hold no membership events and only amendments on their authors' authority
    /// (nothing else was written before membership existed).
    public static let format = 2

    /// Describes the segment being written.
    public struct Header: Sendable, Equatable {
        public var topic: String
        public var epoch: LogEpoch
        public var partition: Int32
        public var from: Int64
        public var to: Int64
        public var duplicateSpan: Int64
        public var level: Int

        public init(topic: String, epoch: LogEpoch, partition: Int32, from: Int64, to: Int64, duplicateSpan: Int64, level: Int) {
            self.topic = topic
            self.epoch = epoch
            self.partition = partition
            self.from = from
            self.to = to
            self.duplicateSpan = duplicateSpan
            self.level = level
        }
    }

    /// What a finished segment file holds, for its manifest entry.
    public struct Summary: Sendable, Equatable {
        public var sha256: String
        public var bytes: Int64
        public var messages: Int
        public var amendments: Int
    }

    static let tables = """
        CREATE TABLE segment (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE messages (
            msg_offset INTEGER PRIMARY KEY, room TEXT NOT NULL, cmid TEXT NOT NULL, author TEXT NOT NULL,
            body TEXT NOT NULL, ts INTEGER NOT NULL, edited INTEGER NOT NULL);
        CREATE TABLE amendments (
            event_offset INTEGER PRIMARY KEY, room TEXT NOT NULL, author TEXT NOT NULL, target TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('edit', 'delete')), body TEXT, ts INTEGER NOT NULL, pending INTEGER NOT NULL,
            authority TEXT NOT NULL DEFAULT 'user');
        CREATE TABLE membership (event_offset INTEGER PRIMARY KEY, room TEXT NOT NULL, event TEXT NOT NULL);
        CREATE TABLE duplicate_window (
            post_offset INTEGER PRIMARY KEY, room TEXT NOT NULL, author TEXT NOT NULL, cmid TEXT NOT NULL, ts INTEGER NOT NULL);
        CREATE TABLE posts (
            post_offset INTEGER PRIMARY KEY, room TEXT NOT NULL, author TEXT NOT NULL, cmid TEXT NOT NULL, ts INTEGER NOT NULL);
        """

    // Indexes and the room summary are built after the bulk inserts, which is faster.
    static let finish = """
        CREATE INDEX messages_by_room ON messages (room, msg_offset);
        CREATE INDEX amendments_by_room ON amendments (room, event_offset);
        CREATE TABLE rooms (room TEXT PRIMARY KEY, messages INTEGER NOT NULL, first_msg INTEGER, last_msg INTEGER) WITHOUT ROWID;
        INSERT INTO rooms
            SELECT room, SUM(counted), MIN(first_msg), MAX(last_msg) FROM (
                SELECT room, 1 AS counted, msg_offset AS first_msg, msg_offset AS last_msg FROM messages
                UNION ALL SELECT room, 0, NULL, NULL FROM amendments
                UNION ALL SELECT room, 0, NULL, NULL FROM membership)
            GROUP BY room;
        """

    /// Writes `contents` as a new segment file at `path` (which must not exist).
    public static func write(_ contents: SegmentContents, header: Header, to path: String) throws -> Summary {
        precondition(contents.from == header.from && contents.to == header.to, "the header describes the contents")
        try? FileManager.default.removeItem(atPath: path)
        let queue = try DatabaseQueue(path: path)
        try queue.writeWithoutTransaction { db in
            try prepare(db, header: header)
            try db.inTransaction {
                let message = try db.makeStatement(sql: "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?)")
                for row in contents.messages {
                    try message.execute(arguments: [row.offset, row.room.value, row.cmid, row.from, row.body, row.timestamp, row.edited])
                }
                let amendment = try db.makeStatement(sql: "INSERT INTO amendments VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")
                for row in contents.amendments {
                    try amendment.execute(arguments: [
                        row.offset, row.room, row.author, row.target, row.kind.rawValue, row.body, row.timestamp, row.pending,
                        row.authority.rawValue,
                    ])
                }
                let membership = try db.makeStatement(sql: "INSERT INTO membership VALUES (?, ?, ?)")
                for logged in contents.membershipEvents {
                    try membership.execute(arguments: [
                        logged.offset, logged.event.room.value, String(decoding: logged.event.encoded(), as: UTF8.self),
                    ])
                }
                try insertWindow(contents.window, into: "duplicate_window", db)
                try insertWindow(contents.posts, into: "posts", db)
                try db.execute(sql: finish)
                return .commit
            }
        }
        try queue.close()
        return try seal(path: path, messages: contents.messages.count, amendments: contents.amendments.count)
    }

    /// Merges consecutive segments (offset order, no gaps) into one new file at `path`.
    ///
    /// Pending amendments of a later input whose target now lies inside the merged range are
    /// decided: applied to their target, or dropped when the rule ignores them. Every membership
    /// event of every input is kept: a ban from long ago still refuses today's posts. Inputs of an
    /// older format are read as that format stored them.
    public static func merge(inputs: [String], header: Header, to path: String) throws -> Summary {
        precondition(!inputs.isEmpty)
        try? FileManager.default.removeItem(atPath: path)
        let queue = try DatabaseQueue(path: path)
        var counts = (messages: 0, amendments: 0)
        try queue.writeWithoutTransaction { db in
            try prepare(db, header: header)
            for (index, input) in inputs.enumerated() {
                try db.execute(sql: "ATTACH DATABASE ? AS source", arguments: [input])
                let sourceFormat = try Int.fetchOne(db, sql: "SELECT CAST(value AS INTEGER) FROM source.segment WHERE key = 'format'") ?? 1
                try db.inTransaction {
                    try db.execute(sql: "INSERT INTO messages SELECT * FROM source.messages")
                    if sourceFormat >= 2 {
                        try db.execute(sql: "INSERT INTO amendments SELECT * FROM source.amendments")
                        try db.execute(sql: "INSERT INTO membership SELECT * FROM source.membership")
                    } else {
                        try db.execute(
                            sql:
                                "INSERT INTO amendments (\(Self.formatOneAmendmentColumns)) SELECT \(Self.formatOneAmendmentColumns) FROM source.amendments"
                        )
                    }
                    try db.execute(sql: "INSERT INTO posts SELECT * FROM source.posts")
                    if index == inputs.count - 1 {
                        try db.execute(sql: "INSERT INTO duplicate_window SELECT * FROM source.duplicate_window")
                    }
                    return .commit
                }
                try db.execute(sql: "DETACH DATABASE source")
            }
            try db.inTransaction {
                try resolvePending(db, from: header.from)
                try db.execute(sql: finish)
                return .commit
            }
            counts.messages = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM messages") ?? 0
            counts.amendments = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM amendments") ?? 0
        }
        try queue.close()
        return try seal(path: path, messages: counts.messages, amendments: counts.amendments)
    }

    /// The amendments' columns in format 1 (``authority`` came with format 2, `user` for older rows).
    static let formatOneAmendmentColumns = "event_offset, room, author, target, kind, body, ts, pending"

    private static func prepare(_ db: Database, header: Header) throws {
        // The file is private until its manifest lists it, and is fsynced and hashed as a whole.
        try db.execute(sql: "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA locking_mode = EXCLUSIVE")
        try db.execute(sql: tables)
        let entries: [(String, String)] = [
            ("format", String(format)), ("topic", header.topic), ("epoch", header.epoch.description),
            ("partition", String(header.partition)), ("from_offset", String(header.from)), ("to_offset", String(header.to)),
            ("duplicate_span", String(header.duplicateSpan)), ("level", String(header.level)),
        ]
        for (key, value) in entries {
            try db.execute(sql: "INSERT INTO segment VALUES (?, ?)", arguments: [key, value])
        }
    }

    private static func insertWindow(_ window: [WindowEntry], into table: String, _ db: Database) throws {
        let statement = try db.makeStatement(sql: "INSERT INTO \(table) VALUES (?, ?, ?, ?, ?)")
        for entry in window {
            try statement.execute(arguments: [entry.offset, entry.room, entry.author, entry.cmid, entry.timestamp])
        }
    }

    private static func resolvePending(_ db: Database, from: Int64) throws {
        let pending = try SegmentRows.amendments(db, sql: "SELECT * FROM amendments WHERE pending = 1 ORDER BY event_offset", arguments: [])
        var byTarget: [Int64: [SnapshotAmendment]] = [:]
        for amendment in pending {
            guard let target = amendment.targetOffset, target >= from else { continue }
            byTarget[target, default: []].append(amendment)
        }
        for (target, amendments) in byTarget {
            let message = try SegmentRows.messages(db, sql: "SELECT * FROM messages WHERE msg_offset = ?", arguments: [target]).first
            let (result, applied) = amendments.decided(of: message)
            if let result {
                try db.execute(
                    sql: "UPDATE messages SET body = ?, edited = ? WHERE msg_offset = ?", arguments: [result.body, result.edited, target])
            } else if message != nil {
                try db.execute(sql: "DELETE FROM messages WHERE msg_offset = ?", arguments: [target])
            }
            let appliedOffsets = Set(applied.map(\.offset))
            for amendment in amendments {
                if appliedOffsets.contains(amendment.offset) {
                    try db.execute(sql: "UPDATE amendments SET pending = 0 WHERE event_offset = ?", arguments: [amendment.offset])
                } else {
                    try db.execute(sql: "DELETE FROM amendments WHERE event_offset = ?", arguments: [amendment.offset])
                }
            }
        }
    }

    private static func seal(path: String, messages: Int, amendments: Int) throws -> Summary {
        try DurableFiles.fsync(path: path)
        let (hex, bytes) = try DurableFiles.sha256(path: path)
        return Summary(sha256: hex, bytes: bytes, messages: messages, amendments: amendments)
    }
}

/// Decoding of segment rows (columns in schema order).
enum SegmentRows {
    static func messages(_ db: Database, sql: String, arguments: StatementArguments) throws -> [ChatMessage] {
        var result: [ChatMessage] = []
        let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
        while let row = try rows.next() {
            if let message = message(row) { result.append(message) }
        }
        return result
    }

    /// The row as a message; `nil` for a room name that does not validate (the fold never stores one).
    static func message(_ row: Row) -> ChatMessage? {
        let offset: Int64 = row[0]
        guard let room = RoomName(row[1]) else { return nil }
        return ChatMessage(
            room: room, msgId: String(offset), cmid: row[2], from: row[3], body: row[4], timestamp: row[5], offset: offset, edited: row[6])
    }

    static func amendments(_ db: Database, sql: String, arguments: StatementArguments) throws -> [SnapshotAmendment] {
        var result: [SnapshotAmendment] = []
        let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
        while let row = try rows.next() {
            let kindText: String = row[4]
            // Format-1 rows have no authority column: they were all written on the author's own.
            let authorityText: String? = row.count > 8 ? row[8] : nil
            // An authority this version does not know grants nothing.
            let authority = authorityText.map { EventAuthority(rawValue: $0) ?? .user } ?? .user
            result.append(
                SnapshotAmendment(
                    offset: row[0], room: row[1], author: row[2], target: row[3], kind: SnapshotAmendment.Kind(rawValue: kindText) ?? .edit,
                    body: row[5], timestamp: row[6], pending: row[7], authority: authority))
        }
        return result
    }

    /// The stored membership events (format 2 and later), offset order; a row that does not decode
    /// as this version's room event is skipped, as every reader of the log skips such a record.
    static func membership(_ db: Database, partition: Int32) throws -> [LoggedRoomEvent] {
        guard try db.tableExists("membership") else { return [] }
        var result: [LoggedRoomEvent] = []
        let rows = try Row.fetchCursor(db, sql: "SELECT event_offset, event FROM membership ORDER BY event_offset")
        while let row = try rows.next() {
            let text: String = row[1]
            guard let event = RoomEvent(decoding: Array(text.utf8)), case .membership = event.kind else { continue }
            result.append(LoggedRoomEvent(event: event, partition: partition, offset: row[0]))
        }
        return result
    }

    static func window(_ db: Database, sql: String = "SELECT * FROM duplicate_window ORDER BY post_offset", arguments: StatementArguments = [])
        throws -> [WindowEntry]
    {
        var result: [WindowEntry] = []
        let rows = try Row.fetchCursor(db, sql: sql, arguments: arguments)
        while let row = try rows.next() {
            result.append(WindowEntry(offset: row[0], room: row[1], author: row[2], cmid: row[3], timestamp: row[4]))
        }
        return result
    }
}
