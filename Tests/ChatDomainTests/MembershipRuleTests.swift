import ChatDomain
import ChatTestSupport
import Foundation
import Testing

/// The membership rule as the log fold applies it: kinds, roles, bans, mutes, DMs, operators, and
/// the journal that seeds folds starting mid-log.
@Suite("Membership rule")
struct MembershipRuleTests {
    static let room = RoomName("team")!

    static func event(
        _ from: String, _ kind: RoomEvent.Kind, in room: RoomName = room, at timestamp: Int64 = 1_000, as authority: EventAuthority = .user
    ) -> RoomEvent {
        RoomEvent(room: room, from: from, timestamp: timestamp, kind: kind, authority: authority)
    }

    static func post(_ from: String, _ cmid: String, in room: RoomName = room, at timestamp: Int64 = 1_000) -> RoomEvent {
        event(from, .message(cmid: cmid, body: "hi from \(from)"), in: room, at: timestamp)
    }

    static func create(_ owner: String, _ kind: RoomKind = .private, in room: RoomName = room) -> RoomEvent {
        event(owner, .membership(.create(kind: kind, title: "Team", owner: owner, members: [])), in: room)
    }

    /// Folds `events` at offsets 0, 1, ... and returns each verdict.
    static func verdicts(_ events: [RoomEvent], span: Int64 = 100) -> (verdicts: [LogVerdict], fold: PartitionLogFold) {
        var fold = PartitionLogFold(partition: 0, from: 0, span: span, keepsMessages: true)
        let verdicts = events.enumerated().map { fold.apply(offset: Int64($0.offset), event: $0.element)!.verdict }
        return (verdicts, fold)
    }

    @Test("A private room: members post, others are not members; the owner invites and kicks")
    func privateRoom() {
        let (verdicts, fold) = Self.verdicts([
            Self.create("ann"),
            Self.post("ann", "1"),
            Self.post("bob", "1"),
            Self.event("ann", .membership(.add(user: "bob", role: .member))),
            Self.post("bob", "2"),
            Self.event("bob", .membership(.add(user: "cid", role: .member))),
            Self.event("ann", .membership(.remove(user: "bob"))),
            Self.post("bob", "3"),
            Self.create("bob"),
        ])
        #expect(
            verdicts == [
                .visible, .visible, .refused(.notMember), .visible, .visible, .refused(.notPermitted), .visible, .refused(.notMember),
                .refused(.roomExists),
            ])
        #expect(fold.timeline(of: Self.room)?.visibleMessages.map(\.from) == ["ann", "bob"])
        let state = fold.state(of: Self.room)
        #expect(state?.kind == .private && state?.members == ["ann": .owner] && state?.createdAt == 0 && state?.title == "Team")
    }

    @Test("A ban removes and refuses until it ends; an unban lets the user back into a public room")
    func bans() {
        let (verdicts, fold) = Self.verdicts([
            Self.create("ann", .public),
            Self.post("bob", "1", at: 1_000),
            Self.event("ann", .membership(.ban(user: "bob", until: 5_000)), at: 1_100),
            Self.post("bob", "2", at: 1_200),
            Self.post("bob", "3", at: 5_000),
            Self.event("ann", .membership(.ban(user: "bob", until: nil)), at: 5_100),
            Self.post("bob", "4", at: 9_000_000),
            Self.event("ann", .membership(.add(user: "bob", role: .member)), at: 9_000_001),
            Self.event("ann", .membership(.unban(user: "bob")), at: 9_000_002),
            Self.post("bob", "5", at: 9_000_003),
            Self.event("ann", .membership(.unban(user: "bob")), at: 9_000_004),
            Self.event("ann", .membership(.ban(user: "cid", until: 10)), at: 20),
        ])
        #expect(
            verdicts == [
                .visible, .visible, .visible, .refused(.banned), .visible, .visible, .refused(.banned), .refused(.banned), .visible, .visible,
                .refused(.invalid), .refused(.invalid),
            ])
        #expect(fold.timeline(of: Self.room)?.visibleMessages.map(\.cmid) == ["1", "3", "5"])
    }

    @Test("A mute refuses posts and edits until it ends; the muted may still delete their own")
    func mutes() {
        let (verdicts, _) = Self.verdicts([
            Self.create("ann", .public),
            Self.post("bob", "1", at: 1_000),
            Self.event("ann", .membership(.mute(user: "bob", until: 2_000)), at: 1_001),
            Self.post("bob", "2", at: 1_500),
            Self.event("bob", .edit(msgId: "1", body: "x"), at: 1_600),
            Self.event("bob", .delete(msgId: "1"), at: 1_700),
            Self.post("bob", "3", at: 2_000),
            Self.event("ann", .membership(.mute(user: "bob", until: 9_000)), at: 2_100),
            Self.event("ann", .membership(.mute(user: "bob", until: 0)), at: 2_200),
            Self.post("bob", "4", at: 2_300),
        ])
        #expect(
            verdicts == [.visible, .visible, .visible, .refused(.muted), .refused(.muted), .visible, .visible, .visible, .visible, .visible])
    }

    @Test("Roles: owners set roles; moderators moderate members but not each other or owners")
    func roles() {
        let (verdicts, fold) = Self.verdicts([
            Self.create("ann"),
            Self.event("ann", .membership(.add(user: "mod", role: .member))),
            Self.event("ann", .membership(.add(user: "bob", role: .moderator))),
            Self.event("ann", .membership(.setRole(user: "mod", role: .moderator))),
            Self.event("mod", .membership(.add(user: "bob", role: .member))),
            Self.event("mod", .membership(.setRole(user: "bob", role: .moderator))),
            Self.event("mod", .membership(.add(user: "cid", role: .member))),
            Self.event("ann", .membership(.setRole(user: "cid", role: .moderator))),
            Self.event("mod", .membership(.remove(user: "cid"))),
            Self.event("mod", .membership(.ban(user: "ann", until: nil))),
            Self.event("mod", .membership(.mute(user: "bob", until: 99_999))),
            Self.event("ann", .membership(.remove(user: "cid"))),
            Self.event("bob", .membership(.remove(user: "mod"))),
            Self.event("ann", .membership(.add(user: "bob", role: .member))),
        ])
        #expect(
            verdicts == [
                .visible, .visible, .refused(.notPermitted), .visible, .visible, .refused(.notPermitted), .visible, .visible,
                .refused(.notPermitted), .refused(.notPermitted), .visible, .visible, .refused(.notPermitted), .refused(.invalid),
            ])
        #expect(fold.state(of: Self.room)?.members == ["ann": .owner, "mod": .moderator, "bob": .member])
        #expect(fold.state(of: Self.room)?.memberList.map(\.user) == ["ann", "mod", "bob"])
    }

    @Test("A moderator deletes anyone's message; a member's moderator delete and a moderator edit are refused")
    func moderatorDeletes() {
        let (verdicts, fold) = Self.verdicts([
            Self.create("ann", .public),
            Self.event("ann", .membership(.add(user: "mod", role: .member))),
            Self.event("ann", .membership(.setRole(user: "mod", role: .moderator))),
            Self.post("bob", "1"),
            Self.post("bob", "2"),
            Self.event("cid", .delete(msgId: "4"), as: .moderator),
            Self.event("cid", .delete(msgId: "4")),
            Self.event("mod", .edit(msgId: "4", body: "x"), as: .moderator),
            Self.event("mod", .delete(msgId: "4"), as: .moderator),
            Self.event("mod", .delete(msgId: "3")),
        ])
        #expect(
            verdicts == [
                .visible, .visible, .visible, .visible, .visible, .refused(.notPermitted), .refused(.notAuthor), .refused(.notPermitted), .visible,
                .refused(.notAuthor),
            ])
        #expect(fold.timeline(of: Self.room)?.visibleMessages.map(\.cmid) == ["1"])
    }

    @Test("A DM: one room per pair whoever opens it, exactly two members, nobody added; its name is reserved before")
    func directMessages() {
        let dm = DirectRoom.name("alice", "bob")
        #expect(dm == DirectRoom.name("bob", "alice"))
        #expect(dm != DirectRoom.name("alice", "bobb") && dm != DirectRoom.name("alic", "ebob"))
        #expect(dm.value.hasPrefix("dm.") && dm.value.count == 43)
        let open = { (by: String) in
            Self.event(by, .membership(.create(kind: .dm, title: nil, owner: nil, members: [by, by == "alice" ? "bob" : "alice"])), in: dm)
        }
        let (verdicts, fold) = Self.verdicts([
            Self.post("alice", "early", in: dm),
            Self.event("eve", .membership(.create(kind: .dm, title: nil, owner: nil, members: ["alice", "bob"])), in: dm),
            Self.event("eve", .membership(.create(kind: .public, title: nil, owner: "eve", members: [])), in: dm),
            open("bob"),
            open("alice"),
            Self.post("alice", "1", in: dm),
            Self.post("eve", "1", in: dm),
            Self.event("alice", .membership(.add(user: "eve", role: .member)), in: dm),
            Self.event("eve", .membership(.create(kind: .dm, title: nil, owner: nil, members: ["eve", "mallory"])), in: Self.room),
        ])
        #expect(
            verdicts == [
                .refused(.notMember), .refused(.invalid), .refused(.notPermitted), .visible, .refused(.roomExists), .visible, .refused(.notMember),
                .refused(.notPermitted), .refused(.invalid),
            ])
        #expect(fold.state(of: dm)?.members == ["alice": .member, "bob": .member])
        #expect(MembershipRule.access(of: "eve", in: DirectRoom.name("eve", "x"), state: nil, at: 0) == .notMember)
    }

    @Test("Operators manage rooms nobody owns; their events bypass roles")
    func operators() {
        let (verdicts, fold) = Self.verdicts([
            Self.event("admin", .membership(.ban(user: "bob", until: nil)), as: .operator),
            Self.event("bob", .membership(.ban(user: "cid", until: nil))),
            Self.post("bob", "1"),
            Self.event("admin", .membership(.create(kind: .private, title: nil, owner: "ann", members: ["cid"])), as: .operator),
            Self.post("admin", "as-anyone", at: 2_000),
            Self.event("admin", .message(cmid: "2", body: "server"), as: .operator),
        ])
        #expect(verdicts == [.visible, .refused(.banned), .refused(.banned), .visible, .refused(.notMember), .visible])
        let state = fold.state(of: Self.room)
        #expect(state?.members == ["ann": .owner, "cid": .member] && state?.isBanned("bob", at: 0) == true)
    }

    @Test("A refused post is no original: its retry after an unban is a new message")
    func refusedPostsAreNoOriginals() {
        let (verdicts, fold) = Self.verdicts([
            Self.create("ann", .public),
            Self.event("ann", .membership(.ban(user: "bob", until: nil))),
            Self.post("bob", "same"),
            Self.event("ann", .membership(.unban(user: "bob"))),
            Self.post("bob", "same"),
            Self.post("bob", "same"),
        ])
        #expect(verdicts[2] == .refused(.banned) && verdicts[4] == .visible)
        #expect(verdicts[5] == .duplicate(of: .init(offset: 4, timestamp: 1_000)))
        #expect(fold.timeline(of: Self.room)?.visibleMessages.map(\.offset) == [4])
    }

    @Test("A fold that keeps no messages judges membership the same; one seeded by the journal mid-log agrees with one from the start")
    func seededFoldsAgree() {
        var random = SeededGenerator(seed: 7)
        let log = Self.randomLog(&random, count: 600)
        var whole = PartitionLogFold(partition: 0, from: 0, span: 40, keepsMessages: true, keepsMembershipEvents: true)
        var live = PartitionLogFold(partition: 0, from: 0, span: 40)
        var wholeVerdicts: [FoldedEvent?] = []
        for (offset, event) in log.enumerated() {
            let folded = whole.apply(offset: Int64(offset), event: event)
            wholeVerdicts.append(folded)
            let judged = live.apply(offset: Int64(offset), event: event)
            // Membership refusals come before any message is needed, so the live fold makes them too.
            if case .refused(let refusal) = folded?.verdict, ![.unknownTarget, .deletedTarget, .notAuthor].contains(refusal) {
                #expect(judged?.verdict == folded?.verdict, "offset \(offset)")
            }
        }
        #expect(live.roomStates == whole.roomStates)
        let journal = MembershipJournal(partition: 0, events: whole.membershipEvents)
        #expect(journal.current == whole.roomStates)
        for start in [1, 57, 300, 599] {
            var seeded = PartitionLogFold(
                partition: 0, from: Int64(start), span: 40, window: [], roomStates: journal.states(before: Int64(start)), keepsMessages: true)
            for offset in start..<log.count {
                let folded = seeded.apply(offset: Int64(offset), event: log[offset])
                // Membership verdicts need only the seed; posts and amendments also the window and older messages.
                if case .membership = log[offset]?.kind {
                    #expect(folded?.verdict == wholeVerdicts[offset]?.verdict, "start \(start), offset \(offset)")
                }
            }
            #expect(seeded.roomStates == whole.roomStates, "start \(start)")
        }
    }

    /// Creates, invites, kicks, bans, unbans, mutes and role changes in three rooms (one a DM),
    /// by owners, moderators, members and strangers, among posts, edits and deletes.
    static func randomLog(_ random: inout SeededGenerator, count: Int) -> [RoomEvent?] {
        let users = ["ann", "bob", "cid", "dan"]
        let dm = DirectRoom.name("ann", "bob")
        let rooms = [room, RoomName("open")!, dm]
        var log: [RoomEvent?] = []
        for offset in 0..<count {
            func pick<T>(_ values: [T]) -> T { values[Int(random.next() % UInt64(values.count))] }
            let room = pick(rooms)
            let user = pick(users)
            let target = pick(users)
            let time = Int64(offset) * 100
            let action: MembershipAction
            switch random.next() % 20 {
            case 0:
                action =
                    room == dm
                    ? .create(kind: .dm, title: nil, owner: nil, members: ["ann", "bob"])
                    : .create(kind: pick([.public, .private]), title: nil, owner: user, members: [])
            case 1, 2: action = .add(user: target, role: pick([.member, .member, .moderator]))
            case 3: action = .remove(user: target)
            case 4: action = .setRole(user: target, role: pick(MemberRole.allCases))
            case 5: action = .ban(user: target, until: pick([nil, time + 500, time - 1]))
            case 6: action = .unban(user: target)
            case 7: action = .mute(user: target, until: time + pick([0, 300, 3_000]))
            case 8..<14:
                log.append(Self.post(user, "c\(random.next() % 4)", in: room, at: time))
                continue
            case 14, 15:
                let id = offset == 0 ? "0" : String(random.next() % UInt64(offset))
                log.append(
                    Self.event(
                        user, pick([RoomEvent.Kind.edit(msgId: id, body: "e"), .delete(msgId: id)]), in: room, at: time,
                        as: pick([.user, .user, .moderator])))
                continue
            case 16:
                log.append(nil)
                continue
            default:
                log.append(Self.post(user, "c\(offset)", in: room, at: time))
                continue
            }
            log.append(Self.event(user, .membership(action), in: room, at: time, as: random.next() % 30 == 0 ? .operator : .user))
        }
        return log
    }
}
