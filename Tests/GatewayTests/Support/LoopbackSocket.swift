import Glibc

/// A blocking TCP socket connected to a port on 127.0.0.1, for tests that speak raw bytes.
enum LoopbackSocket {
    /// Opens the socket, lets `configure` set options before connecting (buffer sizes must be set
    /// before the handshake to take effect), and connects; `nil` when either step fails.
    static func connect(port: Int, configure: (Int32) -> Void = { _ in }) -> Int32? {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { return nil }
        configure(socket)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            Glibc.close(socket)
            return nil
        }
        return socket
    }
}
