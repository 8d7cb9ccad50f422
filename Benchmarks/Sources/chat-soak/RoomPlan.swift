/// Who is in which room: every user in 2 or 3 random rooms (fewer if there are fewer rooms), and
/// every room with at least two members, so each message has someone to reach besides its sender.
struct RoomPlan: Sendable {
    let users: [String]
    let rooms: [String]
    let roomsOf: [String: [String]]

    init(users userCount: Int, rooms roomCount: Int, random: inout SeededGenerator) {
        let width = String(userCount).count
        users = (1...userCount).map { "soak-u" + String(repeating: "0", count: width - String($0).count) + String($0) }
        rooms = (1...roomCount).map { "soak-room-\($0)" }
        var roomsOf: [String: Set<String>] = [:]
        for user in users {
            let count = min(roomCount, Int.random(in: 2...3, using: &random))
            roomsOf[user] = Set(rooms.shuffled(using: &random).prefix(count))
        }
        for room in rooms {
            var members = users.filter { roomsOf[$0]!.contains(room) }
            while members.count < min(2, userCount) {
                let user = users.filter { !members.contains($0) }.randomElement(using: &random)!
                roomsOf[user]!.insert(room)
                members.append(user)
            }
        }
        self.roomsOf = roomsOf.mapValues { $0.sorted() }
    }

    func members(of room: String) -> [String] {
        users.filter { roomsOf[$0]!.contains(room) }
    }

    var memberships: Int { roomsOf.values.reduce(0) { $0 + $1.count } }
}
