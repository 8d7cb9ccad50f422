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

    /// Whether the token's `rooms` patterns allow `room`. DM rooms (``DirectRoom``) are allowed
    /// whatever the patterns: their names are hashes nobody could list in a token, and the
    /// membership rule lets only the pair's two users in.
    public func mayJoin(_ room: RoomName) -> Bool {
        if room.value.hasPrefix(MembershipRule.directPrefix) { return true }
        guard let roomPatterns else { return true }
        return roomPatterns.contains { $0.matches(room) }
    }
}
