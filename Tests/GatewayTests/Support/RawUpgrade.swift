import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// An HTTP response read off a plain socket.
struct RawHTTPResponse {
    var statusLine: String
    var status: Int
    /// Header names lowercased.
    var headers: [String: String]
    var body: String
}

/// Sends a real WebSocket upgrade request (Upgrade, Connection, Sec-WebSocket-Key/Version) on a
/// plain TCP socket and reads the response as a browser would see it: the status line, the
/// headers and, unless the upgrade succeeded (101), the body up to its Content-Length or the end
/// of the connection.
func rawUpgrade(port: Int, path: String = "/v1/ws", headers: [(String, String)] = []) async throws -> RawHTTPResponse {
    var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    request += "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    for (name, value) in headers { request += "\(name): \(value)\r\n" }
    request += "\r\n"
    let text = request
    return try await withCheckedThrowingContinuation { continuation in
        // Blocking socket calls on a thread of their own, off the cooperative pool.
        Thread.detachNewThread {
            continuation.resume(with: Result { try exchange(port: port, request: text) })
        }
    }
}

struct RawSocketError: Error, CustomStringConvertible {
    var description: String
}

private func exchange(port: Int, request: String) throws -> RawHTTPResponse {
    let connected = LoopbackSocket.connect(port: port) { socket in
        var timeout = timeval(tv_sec: 20, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }
    guard let socket = connected else { throw RawSocketError(description: "connect to \(port) failed") }
    defer { close(socket) }
    let bytes = Array(request.utf8)
    guard bytes.withUnsafeBytes({ send(socket, $0.baseAddress, $0.count, 0) }) == bytes.count else {
        throw RawSocketError(description: "send failed")
    }
    var received: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 4096)
    while true {
        if let response = parse(received) { return response }
        let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        if count <= 0 {
            if let response = parse(received, ended: true) { return response }
            throw RawSocketError(description: "connection ended after \(received.count) bytes: \(String(decoding: received, as: UTF8.self))")
        }
        received += buffer[0..<count]
    }
}

/// The response once complete in `bytes`, else `nil`.
private func parse(_ bytes: [UInt8], ended: Bool = false) -> RawHTTPResponse? {
    let separator: [UInt8] = Array("\r\n\r\n".utf8)
    guard bytes.count >= 4, let end = (0...(bytes.count - 4)).first(where: { Array(bytes[$0..<($0 + 4)]) == separator }) else { return nil }
    let head = String(decoding: bytes[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
    let statusLine = head[0]
    let status = statusLine.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
    var headers: [String: String] = [:]
    for line in head.dropFirst() {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
    }
    let body = bytes[(end + 4)...]
    if status == 101 { return RawHTTPResponse(statusLine: statusLine, status: status, headers: headers, body: "") }
    if let length = headers["content-length"].flatMap(Int.init) {
        guard body.count >= length else { return nil }
        return RawHTTPResponse(statusLine: statusLine, status: status, headers: headers, body: String(decoding: body.prefix(length), as: UTF8.self))
    }
    guard ended else { return nil }
    return RawHTTPResponse(statusLine: statusLine, status: status, headers: headers, body: String(decoding: body, as: UTF8.self))
}
