/// A message as `history` shows it: edits applied.
public struct ChatMessage: Sendable, Equatable {
    public var room: RoomName
    public var msgId: String
    public var cmid: String
    public var from: String
    public var body: String
    /// When it was posted (milliseconds since the Unix epoch).
    public var timestamp: Int64
    /// The position of the post in the room's partition.
    public var offset: Int64
    public var edited: Bool

    public init(room: RoomName, msgId: String, cmid: String, from: String, body: String, timestamp: Int64, offset: Int64, edited: Bool = false) {
        self.room = room
        self.msgId = msgId
        self.cmid = cmid
        self.from = from
        self.body = body
        self.timestamp = timestamp
        self.offset = offset
        self.edited = edited
    }
}
