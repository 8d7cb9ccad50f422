import ChatDomain

/// One contiguous part of a room's history as a reader sees it: a snapshot segment, or the fold
/// of the log tail. Methods block (SQLite): call them from ``SnapshotIO``.
public protocol RoomLayer: Sendable {
    var from: Int64 { get }
    var to: Int64 { get }
    /// The room's messages before `offset`, newest first.
    func messages(before offset: Int64, limit: Int) throws -> [ChatMessage]
    /// The room's messages after `offset`, oldest first.
    func messages(after offset: Int64, limit: Int) throws -> [ChatMessage]
    func message(at offset: Int64) throws -> ChatMessage?
    /// The room's amendments after `offset`, offset order.
    func amendments(after offset: Int64, pendingOnly: Bool) throws -> [SnapshotAmendment]
    /// Whether the layer holds anything of the room.
    var mentionsRoom: Bool { get throws }
}

/// A snapshot segment seen through one room.
public struct SegmentRoomLayer: RoomLayer {
    public let reader: SegmentReader
    public let room: String

    public init(reader: SegmentReader, room: String) {
        self.reader = reader
        self.room = room
    }

    public var from: Int64 { reader.descriptor.from }
    public var to: Int64 { reader.descriptor.to }

    public func messages(before offset: Int64, limit: Int) throws -> [ChatMessage] {
        try reader.messages(room: room, before: offset, limit: limit)
    }

    public func messages(after offset: Int64, limit: Int) throws -> [ChatMessage] {
        try reader.messages(room: room, after: offset, limit: limit)
    }

    public func message(at offset: Int64) throws -> ChatMessage? {
        guard let message = try reader.message(at: offset), message.room.value == room else { return nil }
        return message
    }

    public func amendments(after offset: Int64, pendingOnly: Bool) throws -> [SnapshotAmendment] {
        try reader.amendments(room: room, after: offset, pendingOnly: pendingOnly)
    }

    public var mentionsRoom: Bool { get throws { try reader.mentions(room: room) } }
}

/// Folded contents held in memory: the log tail, or a segment in tests.
public struct MemoryRoomLayer: RoomLayer {
    public let contents: SegmentContents
    public let room: String
    private let messages: [ChatMessage]
    private let amendments: [SnapshotAmendment]

    public init(contents: SegmentContents, room: String) {
        self.contents = contents
        self.room = room
        self.messages = contents.messages.filter { $0.room.value == room }
        self.amendments = contents.amendments.filter { $0.room == room }
    }

    public var from: Int64 { contents.from }
    public var to: Int64 { contents.to }

    public func messages(before offset: Int64, limit: Int) throws -> [ChatMessage] {
        Array(messages.reversed().lazy.filter { $0.offset < offset }.prefix(limit))
    }

    public func messages(after offset: Int64, limit: Int) throws -> [ChatMessage] {
        Array(messages.lazy.filter { $0.offset > offset }.prefix(limit))
    }

    public func message(at offset: Int64) throws -> ChatMessage? {
        messages.first { $0.offset == offset }
    }

    public func amendments(after offset: Int64, pendingOnly: Bool) throws -> [SnapshotAmendment] {
        amendments.filter { $0.offset > offset && (!pendingOnly || $0.pending) }
    }

    public var mentionsRoom: Bool { !messages.isEmpty || !amendments.isEmpty }
}
