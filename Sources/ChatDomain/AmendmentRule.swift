/// Who may amend a message: the one check ``RoomTimeline`` makes for every edit and delete, the
/// only place the rule is applied (every reader folds the log through ``PartitionLogFold``).
///
/// An amendment applies only to a visible message, and only when its sender wrote that message.
/// A message deleted earlier in the log is not visible: an edit or delete that follows its delete
/// (two nodes racing, each having checked before the other's delete) is ignored.
///
/// A delete on a moderator's or operator's authority applies to anyone's message: whether the
/// sender held that role when the event was written into the log is ``MembershipRule``'s check,
/// made before the amendment reaches this rule.
public enum AmendmentRule {
    /// Whether an amendment sent by `sender` applies to the message written by `author`;
    /// `author` is `nil` when no visible message has the target id (never posted, or deleted).
    public static func applies(_ kind: RoomEvent.Kind, sentBy sender: String, authority: EventAuthority, toMessageBy author: String?) -> Bool {
        guard let author else { return false }
        if case .delete = kind, authority != .user { return true }
        return author == sender
    }
}
