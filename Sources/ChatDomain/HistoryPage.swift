/// Messages of a room for a `history` reply: oldest first, edits applied, deleted ones absent.
public struct HistoryPage: Sendable, Equatable {
    public var messages: [ChatMessage]
    /// True when older messages exist before the first one of the page.
    public var more: Bool

    public init(messages: [ChatMessage], more: Bool) {
        self.messages = messages
        self.more = more
    }

    /// The newest `limit` of `candidates` (visible messages in order, all before the page's end).
    public static func newest(_ limit: Int, of candidates: [ChatMessage], olderExist: Bool) -> HistoryPage {
        let page = Array(candidates.suffix(limit))
        return HistoryPage(messages: page, more: candidates.count > limit || olderExist)
    }
}
