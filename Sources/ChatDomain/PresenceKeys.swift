/// Key prefixes of the records on `chat.presence`, named once: presence writes them, `chatctl lag`
/// reads the `node:` heartbeats to find gateway nodes where brokers cannot list groups.
public enum PresenceKeys {
    /// A gateway node's heartbeat: `node:<id>`.
    public static let nodePrefix = "node:"
    /// One node's view of a user: `user:<user>@<node>`.
    public static let userPrefix = "user:"
    /// One node's view of a user in a room: `room:<room>/<user>@<node>`.
    public static let roomPrefix = "room:"
}
