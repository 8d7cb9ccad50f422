/// The consumer groups the system commits under, named once: the fan-out and the compactor
/// commit with them, and `chatctl lag` discovers and judges them by them.
public enum ChatConsumerGroups {
    /// The compactor's group (one per cluster).
    public static let compactor = "chat-compactor"
    /// Prefix of a gateway node's fan-out group, `chat-fanout-<node id>`.
    public static let fanoutPrefix = "chat-fanout-"
    /// The group id of the assign-only readers of `chatctl lag`; they never join it.
    public static let lagReader = "chat-lag-reader"

    /// The fan-out group of the gateway node `nodeID`.
    public static func fanout(nodeID: String) -> String { fanoutPrefix + nodeID }
}
