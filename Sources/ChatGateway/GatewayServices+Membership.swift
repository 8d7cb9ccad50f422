import ChatDomain
import ChatFanout
import Foundation

extension GatewayServices {
    /// The membership state of `room` as this node's fan-out folded it (`nil`: never created).
    func roomState(_ room: RoomName) async throws(ProtocolError) -> RoomState? {
        try await ingress.roomState(room)
    }

    /// Checks that `identity` may read `room` (join, history, presence, typing, read, members):
    /// first its token's room patterns, then the room's state under ``MembershipRule``. Returns
    /// the state it checked.
    @discardableResult
    func requireReadAccess(_ identity: ChatIdentity, to room: RoomName) async throws(ProtocolError) -> RoomState? {
        guard identity.mayJoin(room) else { throw ProtocolError(.forbidden, "your token does not allow room \(room)") }
        let state = try await roomState(room)
        switch MembershipRule.access(of: identity.userID, in: room, state: state, at: WallClock.milliseconds()) {
        case .member, .visitor: return state
        case .banned: throw ProtocolError.refused(.banned, room: room, state: state, user: identity.userID)
        case .notMember: throw ProtocolError(refusal: .notMember, room: room)
        }
    }
}

extension ProtocolError {
    /// ``ProtocolError/init(refusal:room:)`` for a refusal the gateway found before writing, saying
    /// when `user`'s ban or mute ends (the state knows it; a refusal read back from the log does not).
    static func refused(_ refusal: LogRefusal, room: RoomName, state: RoomState?, user: String) -> ProtocolError {
        var error = ProtocolError(refusal: refusal, room: room)
        let end: Int64?
        switch refusal {
        case .banned: end = state?.bans[user]
        case .muted: end = state?.mutes[user]
        default: end = nil
        }
        if let end {
            let what = refusal == .banned ? "ban" : "mute"
            error.message += end == Int64.max ? " (for good)" : "; the \(what) ends at \(utcTime(end))"
        }
        return error
    }

    /// `2026-12-02T09:00:00.000Z` for ms since the epoch.
    static func utcTime(_ milliseconds: Int64) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
    }
}
