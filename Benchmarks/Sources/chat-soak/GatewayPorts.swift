import Foundation

/// Picks the gateways' ports. They are fixed for the whole run, so a killed gateway comes back
/// where its clients expect it; they are taken below the ephemeral range (32768 and up on Linux),
/// so no outgoing connection of the soak or of another process can hold one meanwhile.
enum GatewayPorts {
    static func findFree(count: Int) -> Int? {
        for _ in 0..<50 {
            let base = Int.random(in: 20_000...(29_000 - count))
            if (base..<base + count).allSatisfy(isFree) { return base }
        }
        return nil
    }

    /// Whether 127.0.0.1:`port` can be bound now.
    static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }
}
