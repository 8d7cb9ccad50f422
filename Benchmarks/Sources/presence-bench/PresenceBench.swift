import ChatPresence
import Foundation

/// Measures the memory of a node's presence table: N users, each online on one of a few nodes in
/// a few rooms, as every node holds it. Prints JSON with the resident memory per user.
@main
enum PresenceBench {
    static func main() {
        let arguments = CommandLine.arguments
        let users = arguments.count > 1 ? Int(arguments[1]) ?? 1_000_000 : 1_000_000
        let roomsPerUser = arguments.count > 2 ? Int(arguments[2]) ?? 3 : 3
        let nodes = 10
        var table = PresenceTable(staleAfter: 30_000)
        for node in 0..<nodes {
            _ = table.apply(.node(NodeHeartbeat(node: "node-\(node)", incarnation: 1, timestamp: 0, up: true)), now: 0)
        }
        let before = residentBytes()
        let started = Date()
        for index in 0..<users {
            let rooms = (0..<roomsPerUser).map { "room-\((index + $0 * 7919) % 50_000)" }
            let user = "user-\(index)"
            let node = "node-\(index % nodes)"
            _ = table.apply(.user(UserPresence(user: user, node: node, incarnation: 1, online: true, timestamp: 0)), now: 0)
            for room in rooms {
                _ = table.apply(.room(RoomPresence(user: user, node: node, room: room, incarnation: 1, online: true, timestamp: 0)), now: 0)
            }
            if index % 100_000 == 0, index > 0 {
                FileHandle.standardError.write(Data("presence-bench: \(index) users\n".utf8))
            }
        }
        let elapsed = Date().timeIntervalSince(started)
        let after = residentBytes()
        precondition(table.userCount == users)
        let perUser = Double(after - before) / Double(users)
        print(
            """
            {"users":\(users),"roomsPerUser":\(roomsPerUser),"residentBytesBefore":\(before),"residentBytesAfter":\(after),\
            "bytesPerUser":\(Int(perUser)),"megabytesPerMillionUsers":\(Int(perUser * 1_000_000 / 1_048_576)),\
            "recordsPerSecond":\(Int(Double(users) / elapsed))}
            """)
    }

    /// VmRSS of this process, from /proc.
    static func residentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
            let kilobytes = Int(line.split(separator: " ").dropFirst().first ?? "")
        else { return 0 }
        return kilobytes * 1024
    }
}
