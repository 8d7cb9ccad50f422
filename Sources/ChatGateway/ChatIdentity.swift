import ChatDomain

/// Who a session or an HTTP request acts as, from a verified token.
public struct ChatIdentity: Sendable, Equatable {
    public var userID: String
    public var name: String?
    /// Patterns of the rooms the user may join; `nil` means every room.
    public var roomPatterns: [RoomPattern]?
    /// May use the server-side publish API.
    public var isAdmin: Bool

    public init(userID: String, name: String? = nil, roomPatterns: [RoomPattern]? = nil, isAdmin: Bool = false) {
        self.userID = userID
        self.name = name
        self.roomPatterns = roomPatterns
        self.isAdmin = isAdmin
    }

    public func mayJoin(_ room: RoomName) -> Bool {
        guard let roomPatterns else { return true }
        return roomPatterns.contains { $0.matches(room) }
    }
}
