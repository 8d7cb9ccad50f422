import ChatDomain
import Foundation

/// Who a session or an HTTP request acts as, from a verified token.
public struct ChatIdentity: Sendable, Equatable {
    public var userID: String
    public var name: String?
    /// Patterns of the rooms the user may join; `nil` means every room.
    public var roomPatterns: [RoomPattern]?
    /// May use the server-side publish API.
    public var isAdmin: Bool
    /// The token's `exp`: a session ends with close 4001 then, unless the client re-authenticates.
    public var expiresAt: Date?

    public init(userID: String, name: String? = nil, roomPatterns: [RoomPattern]? = nil, isAdmin: Bool = false, expiresAt: Date? = nil) {
        self.userID = userID
        self.name = name
        self.roomPatterns = roomPatterns
        self.isAdmin = isAdmin
        self.expiresAt = expiresAt
    }

    public func mayJoin(_ room: RoomName) -> Bool {
        guard let roomPatterns else { return true }
        return roomPatterns.contains { $0.matches(room) }
    }
}
