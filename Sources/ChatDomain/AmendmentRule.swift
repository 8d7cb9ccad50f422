/// Who may amend a message: the one check ``RoomTimeline`` makes for every edit and delete, the
/// only place the rule is applied (every reader folds the log through ``PartitionLogFold``).
///
/// An amendment applies only to a visible message, and only when its sender wrote that message.
/// A message deleted earlier in the log is not visible: an edit or delete that follows its delete
/// (two nodes racing, each having checked before the other's delete) is ignored.
public enum AmendmentRule {
    /// Whether an edit or delete sent by `sender` applies to the message written by `author`;
    /// `author` is `nil` when no visible message has the target id (never posted, or deleted).
    public static func applies(sentBy sender: String, toMessageBy author: String?) -> Bool {
        guard let author else { return false }
        return author == sender
    }
}
