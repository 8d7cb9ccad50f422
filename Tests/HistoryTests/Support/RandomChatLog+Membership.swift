import ChatDomain
import ChatHistory
import ChatTestSupport

extension RandomChatLog {
    /// A random partition log with membership: creates of public, private and DM rooms (some
    /// refused: a second create, a stranger's DM), invites, kicks, role changes, bans with and
    /// without an end, unbans, mutes that end and that are lifted, some by operators and some by
    /// users who may not; posts, retries, edits and deletes by members, visitors, non-members,
    /// banned and muted users, and moderator deletes of others' messages (by moderators and by
    /// users who are not).
    init(membershipSeed seed: UInt64, count: Int) {
        let users = ["ann", "bob", "cid", "dan", "eve"]
        let direct = DirectRoom.name("ann", "bob")
        let rooms = [RoomName("pub")!, RoomName("priv")!, RoomName("team")!, direct]
        var random = SeededGenerator(seed: seed)
        // One room exists from the start (its owner moderates from then on); the others are created
        // at random places, or never.
        var events: [RoomEvent?] = [
            RoomEvent(
                room: rooms[2], from: "ann", timestamp: 1_700_000_000_000,
                kind: .membership(.create(kind: .private, title: "Team", owner: "ann", members: ["bob"])))
        ]
        var posts: [(offset: Int, room: RoomName, user: String, cmid: String)] = []
        var clock: Int64 = 1_700_000_000_000
        func pick<T>(_ values: [T]) -> T { values.randomElement(using: &random)! }
        for offset in 1..<count {
            clock += Int64.random(in: 1...2000, using: &random)
            let room = pick(rooms)
            // Owners (ann creates most rooms) act often, so that moderation mostly applies.
            let sender = Int.random(in: 0..<3, using: &random) == 0 ? "ann" : pick(users)
            // Mostly someone else: an owner who banned themselves would end the room's moderation.
            let target = Int.random(in: 0..<20, using: &random) == 0 ? sender : pick(users.filter { $0 != sender })
            let authority: EventAuthority = Int.random(in: 0..<12, using: &random) == 0 ? .operator : .user
            func membership(_ action: MembershipAction, from: String = sender, as authority: EventAuthority = authority) -> RoomEvent {
                RoomEvent(room: room, from: from, timestamp: clock, kind: .membership(action), authority: authority)
            }
            let roll = Int.random(in: 0..<100, using: &random)
            switch roll {
            case 0..<5:
                if room == direct {
                    let pair = Int.random(in: 0..<4, using: &random) == 0 ? ["ann", "cid"] : ["ann", "bob"]
                    events.append(membership(.create(kind: .dm, title: nil, owner: nil, members: pair), from: pick(["ann", "bob", "cid"])))
                } else {
                    let kind: RoomKind = room.value == "pub" ? .public : .private
                    let members = users.filter { _ in Bool.random(using: &random) }
                    events.append(membership(.create(kind: kind, title: "t\(offset)", owner: sender, members: members), as: .user))
                }
            case 5..<12:
                let role: MemberRole = Int.random(in: 0..<5, using: &random) == 0 ? .moderator : .member
                events.append(membership(.add(user: target, role: role)))
            case 12..<16:
                events.append(membership(.remove(user: target)))
            case 16..<20:
                events.append(membership(.setRole(user: target, role: pick(MemberRole.allCases))))
            case 20..<25:
                let until: Int64? = Bool.random(using: &random) ? nil : clock + Int64.random(in: -500...30_000, using: &random)
                events.append(membership(.ban(user: target, until: until)))
            case 25..<28:
                events.append(membership(.unban(user: target)))
            case 28..<33:
                events.append(membership(.mute(user: target, until: clock + Int64.random(in: -2000...60_000, using: &random))))
            case 33..<44 where !posts.isEmpty:
                let original = pick(posts)
                events.append(
                    RoomEvent(
                        room: original.room, from: original.user, timestamp: clock, kind: .message(cmid: original.cmid, body: "retry \(offset)")))
                posts.append((offset, original.room, original.user, original.cmid))
            case 44..<54 where !posts.isEmpty:
                let post = pick(posts)
                let author = Int.random(in: 0..<4, using: &random) == 0 ? sender : post.user
                events.append(
                    RoomEvent(room: post.room, from: author, timestamp: clock, kind: .edit(msgId: String(post.offset), body: "edit \(offset)")))
            case 54..<64 where !posts.isEmpty:
                let post = pick(posts)
                // A moderator's delete of someone else's message, by a moderator or by someone who is not.
                let byModerator = Int.random(in: 0..<2, using: &random) == 0
                let author = byModerator ? pick(["ann", sender]) : post.user
                let deleteAuthority: EventAuthority = byModerator ? (authority == .operator ? .operator : .moderator) : .user
                events.append(
                    RoomEvent(room: post.room, from: author, timestamp: clock, kind: .delete(msgId: String(post.offset)), authority: deleteAuthority))
            case 64..<67:
                events.append(nil)
            default:
                let cmid = "c\(offset)"
                posts.append((offset, room, sender, cmid))
                events.append(RoomEvent(room: room, from: sender, timestamp: clock, kind: .message(cmid: cmid, body: "post \(offset)")))
            }
        }
        self.init(events: events, rooms: rooms)
    }

    /// Every room's state after the whole log, folded from its start.
    func roomStates(span: Int64, upTo end: Int? = nil) -> [RoomName: RoomState] {
        var fold = PartitionLogFold(partition: 0, from: 0, span: span)
        for index in 0..<(end ?? events.count) { fold.apply(offset: Int64(index), value: value(at: index)) }
        return fold.roomStates
    }

    /// Folds `range` as the compactor does: from the window and room states at its start.
    func fold(_ range: Range<Int>, span: Int64, window: [WindowEntry], roomStates: [RoomName: RoomState], room: RoomName? = nil) -> SegmentContents {
        var fold = SegmentFold(from: Int64(range.lowerBound), span: span, window: window, roomStates: roomStates, room: room)
        for index in range { fold.apply(offset: Int64(index), value: value(at: index)) }
        return fold.contents()
    }
}
