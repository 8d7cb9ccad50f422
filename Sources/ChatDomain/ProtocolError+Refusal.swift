extension ProtocolError {
    /// The error a client gets when the log's rules refuse its request, whether the gateway's check
    /// against its folded state refused it before writing, or the log refused the written event
    /// (a race: the ban was written first).
    public init(refusal: LogRefusal, room: RoomName) {
        switch refusal {
        case .notMember: self.init(.notMember, "you are not a member of room \(room)")
        case .banned: self.init(.forbidden, "you are banned from room \(room)")
        case .muted: self.init(.forbidden, "you are muted in room \(room) for now")
        case .notPermitted: self.init(.forbidden, "your role in room \(room) does not allow this")
        case .roomExists: self.init(.forbidden, "room \(room) exists already")
        case .invalid: self.init(.badRequest, "this membership change does not apply to room \(room) as it stands")
        case .unknownTarget, .deletedTarget: self.init(.notFound, "no such message in room \(room) (it does not exist or was deleted)")
        case .notAuthor: self.init(.forbidden, "only the author (or a moderator, for a delete) may change this message")
        }
    }
}
