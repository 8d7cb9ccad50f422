import Foundation
import HTTPTypes
import Testing

private func expectError(
    _ reply: [String: Any], _ code: String, _ context: String = "", sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(reply["op"] as? String == "error", "\(context): \(reply)", sourceLocation: sourceLocation)
    #expect(reply["code"] as? String == code, "\(context): \(reply)", sourceLocation: sourceLocation)
    #expect(!(reply["message"] as? String ?? "").isEmpty, sourceLocation: sourceLocation)
}

private func expectAck(_ reply: [String: Any], _ context: String = "", sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(reply["op"] as? String == "ack", "\(context): \(reply)", sourceLocation: sourceLocation)
    #expect(reply["cursor"] is String, "\(context): \(reply)", sourceLocation: sourceLocation)
}

private func members(_ reply: [String: Any]) -> [String] {
    (reply["members"] as? [[String: Any]] ?? []).map { "\($0["user"] as? String ?? "?"):\($0["role"] as? String ?? "?")" }
}

@Suite("Rooms and members on one node", .timeLimit(.minutes(3)))
struct MembershipTests {
    @Test("Every new op refuses bad input with bad_request, and the session goes on")
    func badInput() async throws {
        try await withNodes(1) { _, nodes in
            let alice = try await WSTestClient.connect(port: nodes[0].port, user: "alice")
            let long = String(repeating: "u", count: 129)
            let frames: [(String, [String: Any])] = [
                ("create without kind", ["op": "create", "room": "r"]),
                ("create of a dm", ["op": "create", "room": "r", "kind": "dm"]),
                ("create of an unknown kind", ["op": "create", "room": "r", "kind": "secret"]),
                ("create with a number kind", ["op": "create", "room": "r", "kind": 1]),
                ("create with a long title", ["op": "create", "room": "r", "kind": "public", "title": String(repeating: "t", count: 201)]),
                ("create with a bad room", ["op": "create", "room": "no spaces", "kind": "public"]),
                ("invite without user", ["op": "invite", "room": "r"]),
                ("invite of an empty user", ["op": "invite", "room": "r", "user": ""]),
                ("invite of a long user", ["op": "invite", "room": "r", "user": long]),
                ("invite of a number user", ["op": "invite", "room": "r", "user": 7]),
                ("kick without room", ["op": "kick", "user": "bob"]),
                ("ban until negative", ["op": "ban", "room": "r", "user": "bob", "until": -1]),
                ("ban until fractional", ["op": "ban", "room": "r", "user": "bob", "until": 1.5]),
                ("ban until Int64.max", ["op": "ban", "room": "r", "user": "bob", "until": Int64.max]),
                ("ban until Int64.min", ["op": "ban", "room": "r", "user": "bob", "until": Int64.min]),
                ("ban until huge", ["op": "ban", "room": "r", "user": "bob", "until": 1e300]),
                ("ban until a string", ["op": "ban", "room": "r", "user": "bob", "until": "tomorrow"]),
                ("mute without until", ["op": "mute", "room": "r", "user": "bob"]),
                ("mute until an array", ["op": "mute", "room": "r", "user": "bob", "until": [1]]),
                ("unban without user", ["op": "unban", "room": "r"]),
                ("role unknown", ["op": "role", "room": "r", "user": "bob", "role": "admin"]),
                ("role missing", ["op": "role", "room": "r", "user": "bob"]),
                ("members without room", ["op": "members"]),
                ("dm without user", ["op": "dm"]),
                ("dm with yourself", ["op": "dm", "user": "alice"]),
                ("dm with a long user", ["op": "dm", "user": long]),
            ]
            for (context, frame) in frames { expectError(try await alice.ask(frame), "bad_request", context) }
            // Changes that do not apply to the room as it stands: the rule's `invalid`.
            expectAck(try await alice.ask(["op": "create", "room": "bad-input", "kind": "public"]))
            expectError(try await alice.ask(["op": "kick", "room": "bad-input", "user": "nobody"]), "bad_request", "kick of a non-member")
            expectError(try await alice.ask(["op": "ban", "room": "bad-input", "user": "bob", "until": 1000]), "bad_request", "ban in the past")
            // Nobody manages a room that was never created (a visitor has no role there).
            expectError(try await alice.ask(["op": "invite", "room": "never-made", "user": "bob"]), "forbidden", "invite to a room never created")
            #expect(try await alice.ask(["op": "ping"])["op"] as? String == "pong")
            await alice.close()
        }
    }

    @Test("A private room: its non-members get not_member everywhere (HTTP too); invited, they join; kicked, their subscription ends")
    func privateRoom() async throws {
        try await withNodes(1) { _, nodes in
            let port = nodes[0].port
            let alice = try await WSTestClient.connect(port: port, user: "alice")
            let bob = try await WSTestClient.connect(port: port, user: "bob")
            let created = try await alice.ask(["op": "create", "room": "secret", "kind": "private", "title": "Secret"])
            expectAck(created, "create")
            expectError(try await bob.ask(["op": "create", "room": "secret", "kind": "public"]), "forbidden", "create of an existing room")
            let listed = try await alice.ask(["op": "members", "room": "secret"])
            #expect(listed["op"] as? String == "members")
            #expect(listed["kind"] as? String == "private")
            #expect(members(listed) == ["alice:owner"])

            // Bob is not a member: every op says so.
            expectError(try await bob.ask(["op": "join", "room": "secret"]), "not_member", "join")
            expectError(try await bob.ask(["op": "history", "room": "secret"]), "not_member", "history")
            expectError(try await bob.ask(["op": "members", "room": "secret"]), "not_member", "members")
            expectError(try await bob.ask(["op": "send", "room": "secret", "cmid": "c1", "body": "hi"]), "not_member", "send")
            expectError(try await bob.ask(["op": "presence", "room": "secret"]), "not_member", "presence")
            expectError(try await bob.ask(["op": "typing", "room": "secret"]), "not_member", "typing")
            let cursor = created["cursor"] as! String
            expectError(try await bob.ask(["op": "read", "room": "secret", "cursor": cursor]), "not_member", "read")
            let bobToken = try await token("bob")
            let refused = try await http(.get, port: port, "/v1/rooms/secret/messages", headers: [.authorization: "Bearer \(bobToken)"])
            #expect(refused.status == 403)
            #expect(json(refused.body)["code"] as? String == "not_member")

            // Invited, Bob joins, reads and posts.
            expectAck(try await alice.ask(["op": "invite", "room": "secret", "user": "bob"]), "invite")
            #expect(try await bob.join("secret")["op"] as? String == "joined")
            #expect(members(try await bob.ask(["op": "members", "room": "secret"])) == ["alice:owner", "bob:member"])
            expectAck(try await bob.ask(["op": "send", "room": "secret", "cmid": "c2", "body": "hello"]), "send as a member")
            #expect(try await bob.ask(["op": "history", "room": "secret"])["op"] as? String == "history")
            let allowed = try await http(.get, port: port, "/v1/rooms/secret/messages", headers: [.authorization: "Bearer \(bobToken)"])
            #expect(allowed.status == 200)
            #expect((json(allowed.body)["messages"] as? [[String: Any]])?.map { $0["body"] as? String } == ["hello"])
            // A plain member moderates nobody.
            expectError(try await bob.ask(["op": "kick", "room": "secret", "user": "alice"]), "forbidden", "a member's kick")

            // Kicked: the live subscription gets `member` then `left`, and the room is closed again.
            expectAck(try await alice.ask(["op": "kick", "room": "secret", "user": "bob"]), "kick")
            let left = try await bob.waitFor("left") { $0["op"] as? String == "left" && $0["room"] as? String == "secret" && $0["id"] == nil }
            let frames = bob.receivedFrames.filter { $0["room"] as? String == "secret" }
            let memberIndex = frames.firstIndex { $0["op"] as? String == "member" && $0["change"] as? String == "removed" }
            let leftIndex = frames.firstIndex { ($0 as NSDictionary) == (left as NSDictionary) }
            #expect(memberIndex != nil && leftIndex != nil && memberIndex! < leftIndex!, "member then left: \(frames)")
            #expect(frames[memberIndex!]["user"] as? String == "bob" && frames[memberIndex!]["by"] as? String == "alice")
            expectError(try await bob.ask(["op": "send", "room": "secret", "cmid": "c3", "body": "still here?"]), "not_member", "send after kick")
            expectError(try await bob.ask(["op": "join", "room": "secret"]), "not_member", "join after kick")
            await alice.close()
            await bob.close()
        }
    }

    @Test("Moderation in a public room: a mute ends at its time, a ban refuses join and send, a moderator deletes another's message")
    func moderation() async throws {
        try await withNodes(1) { _, nodes in
            let port = nodes[0].port
            let alice = try await WSTestClient.connect(port: port, user: "alice")
            let bob = try await WSTestClient.connect(port: port, user: "bob")
            let carol = try await WSTestClient.connect(port: port, user: "carol")
            expectAck(try await alice.ask(["op": "create", "room": "town", "kind": "public"]))
            for client in [alice, bob, carol] { #expect(try await client.join("town")["op"] as? String == "joined") }
            let posted = try await bob.ask(["op": "send", "room": "town", "cmid": "b1", "body": "from bob"])
            expectAck(posted)
            let bobMessage = posted["msgId"] as! String

            // Carol, a visitor, may not delete Bob's message; made a moderator, she may.
            expectError(try await carol.ask(["op": "delete", "room": "town", "msgId": bobMessage]), "forbidden", "a visitor's delete")
            expectError(try await carol.ask(["op": "role", "room": "town", "user": "carol", "role": "moderator"]), "forbidden", "a visitor's role")
            expectAck(try await alice.ask(["op": "invite", "room": "town", "user": "carol"]), "invite")
            expectAck(try await alice.ask(["op": "role", "room": "town", "user": "carol", "role": "moderator"]), "role")
            #expect(members(try await bob.ask(["op": "members", "room": "town"])) == ["alice:owner", "carol:moderator"])
            expectAck(try await carol.ask(["op": "delete", "room": "town", "msgId": bobMessage]), "a moderator's delete")
            try await bob.waitFor("deleted") {
                $0["op"] as? String == "deleted" && $0["msgId"] as? String == bobMessage && $0["from"] as? String == "carol"
            }
            // A moderator does not act on owners.
            expectError(try await carol.ask(["op": "kick", "room": "town", "user": "alice"]), "forbidden", "a moderator's kick of the owner")

            // Muted until shortly: refused until then, then allowed.
            let until = Int64(Date().timeIntervalSince1970 * 1000) + 1500
            expectAck(try await carol.ask(["op": "mute", "room": "town", "user": "bob", "until": until]), "mute")
            try await alice.waitFor("muted") {
                $0["op"] as? String == "member" && $0["change"] as? String == "muted" && $0["until"] as? Int64 == until
            }
            let muted = try await bob.ask(["op": "send", "room": "town", "cmid": "b2", "body": "muted?"])
            expectError(muted, "forbidden", "send while muted")
            #expect((muted["message"] as? String ?? "").contains("mute"))
            while Int64(Date().timeIntervalSince1970 * 1000) <= until + 50 { try await Task.sleep(for: .milliseconds(100)) }
            expectAck(try await bob.ask(["op": "send", "room": "town", "cmid": "b3", "body": "unmuted"]), "send after the mute")

            // Banned: the subscription ends, join and send are forbidden, history too.
            expectAck(try await alice.ask(["op": "ban", "room": "town", "user": "bob"]), "ban")
            try await bob.waitFor("left after ban") { $0["op"] as? String == "left" && $0["room"] as? String == "town" && $0["id"] == nil }
            #expect(bob.received(op: "member", room: "town").contains { $0["change"] as? String == "banned" && $0["user"] as? String == "bob" })
            expectError(try await bob.ask(["op": "join", "room": "town"]), "forbidden", "join while banned")
            expectError(try await bob.ask(["op": "send", "room": "town", "cmid": "b4", "body": "banned?"]), "forbidden", "send while banned")
            expectError(try await bob.ask(["op": "history", "room": "town"]), "forbidden", "history while banned")
            expectError(try await alice.ask(["op": "invite", "room": "town", "user": "bob"]), "forbidden", "invite of a banned user")
            expectAck(try await alice.ask(["op": "unban", "room": "town", "user": "bob"]), "unban")
            #expect(try await bob.join("town")["op"] as? String == "joined")
            for client in [alice, bob, carol] { await client.close() }
        }
    }

    @Test("A DM: one room per pair whoever opens it, its two members only, whatever the token's room patterns")
    func directMessages() async throws {
        try await withNodes(1) { _, nodes in
            let port = nodes[0].port
            let alice = try await WSTestClient.connect(port: port, user: "alice", token: try await token("alice", rooms: ["lobby"]))
            let bob = try await WSTestClient.connect(port: port, user: "bob")
            let carol = try await WSTestClient.connect(port: port, user: "carol")
            let opened = try await alice.ask(["op": "dm", "user": "bob"])
            #expect(opened["op"] as? String == "dm")
            let room = try #require(opened["room"] as? String)
            #expect(room.hasPrefix("dm."))
            #expect(try await bob.ask(["op": "dm", "user": "alice"])["room"] as? String == room)
            let listed = try await bob.ask(["op": "members", "room": room])
            #expect(listed["kind"] as? String == "dm")
            #expect(members(listed) == ["alice:member", "bob:member"])
            #expect(try await alice.join(room)["op"] as? String == "joined")
            #expect(try await bob.join(room)["op"] as? String == "joined")
            expectAck(try await alice.ask(["op": "send", "room": room, "cmid": "d1", "body": "psst"]))
            try await bob.waitFor("the DM") { $0["op"] as? String == "message" && $0["body"] as? String == "psst" }
            let history = try await bob.ask(["op": "history", "room": room])
            #expect((history["messages"] as? [[String: Any]])?.map { $0["body"] as? String } == ["psst"])
            expectError(try await carol.ask(["op": "join", "room": room]), "not_member", "a third user's join")
            expectError(try await carol.ask(["op": "history", "room": room]), "not_member", "a third user's history")
            expectError(try await alice.ask(["op": "invite", "room": room, "user": "carol"]), "forbidden", "invite to a DM")
            // A DM name nobody opened is closed to all.
            expectError(try await carol.ask(["op": "join", "room": "dm.0000"]), "not_member", "an unopened DM name")
            expectError(try await carol.ask(["op": "create", "room": "dm.mine", "kind": "public"]), "forbidden", "create under the DM prefix")
            // Alice's token still limits the other rooms.
            expectError(try await alice.ask(["op": "join", "room": "elsewhere"]), "forbidden", "a room outside the token's patterns")
            for client in [alice, bob, carol] { await client.close() }
        }
    }

    @Test("The admin API: create, list, add, set roles, remove and ban members; 401, 403, 400 and 413 for bad requests")
    func adminAPI() async throws {
        try await withNodes(1) { _, nodes in
            let port = nodes[0].port
            let admin = try await token("ops", admin: true)
            let user = try await token("alice")
            let asAdmin: HTTPFields = [.authorization: "Bearer \(admin)", .contentType: "application/json"]
            let body = #"{"room":"staff","kind":"private","title":"Staff","owner":"alice","members":["bob"]}"#
            #expect(try await http(.post, port: port, "/v1/rooms", body: body).status == 401)
            let notAdmin = try await http(.post, port: port, "/v1/rooms", headers: [.authorization: "Bearer \(user)"], body: body)
            #expect(notAdmin.status == 403)
            #expect(json(notAdmin.body)["code"] as? String == "forbidden")
            for bad in [
                "", "{", #"{"room":"staff"}"#, #"{"room":"staff","kind":"dm"}"#, #"{"room":"no spaces","kind":"public"}"#,
                #"{"room":"staff","kind":"public","members":[""]}"#, #"{"room":"staff","kind":7}"#,
            ] {
                let response = try await http(.post, port: port, "/v1/rooms", headers: asAdmin, body: bad)
                #expect(response.status == 400, "\(bad): \(response)")
                #expect(json(response.body)["code"] as? String == "bad_request", "\(bad)")
            }
            let oversized = try await http(.post, port: port, "/v1/rooms", headers: asAdmin, body: String(repeating: " ", count: 1 << 20) + body)
            #expect(oversized.status == 413)

            let created = try await http(.post, port: port, "/v1/rooms", headers: asAdmin, body: body)
            #expect(created.status == 201, "\(created)")
            #expect(json(created.body)["room"] as? String == "staff")
            #expect(json(created.body)["cursor"] is String)
            let again = try await http(.post, port: port, "/v1/rooms", headers: asAdmin, body: body)
            #expect(again.status == 403)
            let listed = try await http(.get, port: port, "/v1/rooms/staff/members", headers: asAdmin)
            #expect(listed.status == 200)
            #expect(json(listed.body)["kind"] as? String == "private")
            #expect(members(json(listed.body)) == ["alice:owner", "bob:member"])
            #expect(try await http(.get, port: port, "/v1/rooms/staff/members", headers: [.authorization: "Bearer \(user)"]).status == 403)

            #expect(try await http(.put, port: port, "/v1/rooms/staff/members/carol", headers: asAdmin).status == 200)
            let promoted = try await http(.put, port: port, "/v1/rooms/staff/members/carol", headers: asAdmin, body: #"{"role":"moderator"}"#)
            #expect(promoted.status == 200, "\(promoted)")
            #expect(json(promoted.body)["role"] as? String == "moderator")
            #expect(try await http(.put, port: port, "/v1/rooms/staff/members/carol", headers: asAdmin, body: #"{"role":"king"}"#).status == 400)
            #expect(try await http(.delete, port: port, "/v1/rooms/staff/members/bob", headers: asAdmin).status == 200)
            #expect(try await http(.delete, port: port, "/v1/rooms/staff/members/bob", headers: asAdmin).status == 400, "bob is no member now")
            #expect(try await http(.delete, port: port, "/v1/rooms/staff/members/dave?ban=maybe", headers: asAdmin).status == 400)
            #expect(try await http(.delete, port: port, "/v1/rooms/staff/members/dave?ban=true&until=-5", headers: asAdmin).status == 400)
            #expect(try await http(.delete, port: port, "/v1/rooms/staff/members/dave?ban=true", headers: asAdmin).status == 200)
            let after = json(try await http(.get, port: port, "/v1/rooms/staff/members", headers: asAdmin).body)
            #expect(members(after) == ["alice:owner", "carol:moderator"])
            let unknown = json(try await http(.get, port: port, "/v1/rooms/never-made/members", headers: asAdmin).body)
            #expect(unknown["kind"] as? String == "public")
            #expect(members(unknown).isEmpty)

            // The publish API writes on the operator's authority, so it posts into private rooms.
            let published = try await http(
                .post, port: port, "/v1/rooms/staff/messages", headers: asAdmin, body: #"{"cmid":"p1","body":"announcement","from":"ops"}"#)
            #expect(published.status == 201, "\(published)")
            // What the admin API wrote, a member's session sees.
            let alice = try await WSTestClient.connect(port: port, user: "alice")
            let carol = try await WSTestClient.connect(port: port, user: "carol")
            let bob = try await WSTestClient.connect(port: port, user: "bob")
            #expect(try await carol.join("staff")["op"] as? String == "joined")
            expectError(try await bob.ask(["op": "join", "room": "staff"]), "not_member", "a removed member's join")
            let history = try await alice.ask(["op": "history", "room": "staff"])
            #expect((history["messages"] as? [[String: Any]])?.map { $0["body"] as? String } == ["announcement"])
            for client in [alice, bob, carol] { await client.close() }
        }
    }
}
