/// The topics of the system (see docs/architecture.md).
public enum ChatTopics {
    /// Room events; one room lives in exactly one partition.
    public static let rooms = "chat.rooms"
    /// Presence records and gateway-node heartbeats (compacted).
    public static let presence = "chat.presence"
    /// Ephemeral events such as typing; same partition count and room mapping as `rooms`.
    public static let signals = "chat.signals"
    /// Read positions keyed by `user/room` (compacted).
    public static let cursors = "chat.cursors"

    public static let all = [rooms, presence, signals, cursors]
}
