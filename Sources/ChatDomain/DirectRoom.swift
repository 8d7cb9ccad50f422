import Crypto

/// The one room of a pair of users: its name follows from the pair alone, so two users opening
/// their DM at once (on two nodes) write to the same room, and the first `room.created` in its
/// log wins.
public enum DirectRoom {
    /// `dm.` and 40 hex digits of SHA-256 over the two user ids in sorted order: fixed length
    /// whatever the ids (which may be longer than a room name or use other characters), and no
    /// user can pick ids that collide with another pair's room.
    public static func name(_ first: String, _ second: String) -> RoomName {
        let (low, high) = first <= second ? (first, second) : (second, first)
        var bytes = Array(low.utf8)
        bytes.append(0)
        bytes.append(contentsOf: high.utf8)
        let digest = SHA256.hash(data: bytes)
        let hex = digest.prefix(20).map { byte in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]])
        }.joined()
        return RoomName(MembershipRule.directPrefix + hex)!
    }
}
