import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A WebSocket client on a plain blocking TCP socket, for tests that must control the socket
/// itself: its receive buffer, and whether it is read at all. The upgrade is a real one (the
/// server's `Sec-WebSocket-Accept` is checked); client frames are masked as RFC 6455 requires.
/// Every blocking call runs on a thread of its own, off the cooperative pool. One task uses a
/// client at a time.
final class RawWebSocket: @unchecked Sendable {
    /// A frame as it came off the wire (server frames are unmasked).
    struct Frame {
        var opcode: UInt8
        var payload: [UInt8]

        var text: String { String(decoding: payload, as: UTF8.self) }
        var object: [String: Any] { json(text) }
        /// The close code of a close frame, if it has one.
        var closeCode: Int? {
            guard opcode == 0x8, payload.count >= 2 else { return nil }
            return Int(payload[0]) << 8 | Int(payload[1])
        }
    }

    private let socket: Int32
    // Bytes read but not yet parsed into a frame; touched only by the one task using the client.
    private var pending: [UInt8] = []

    private init(socket: Int32) {
        self.socket = socket
    }

    deinit { close(socket) }

    /// Connects, upgrades with `token` in the URL as a browser client may, and returns once the
    /// server answered 101. `receiveBufferBytes` sets `SO_RCVBUF` before connecting, so that the
    /// window the client advertises stays small and a client that stops reading backs up the
    /// server after a few kilobytes instead of megabytes.
    static func connect(port: Int, token: String, receiveBufferBytes: Int? = nil) async throws -> RawWebSocket {
        try await offThread {
            let connected = LoopbackSocket.connect(port: port) { socket in
                if var size = receiveBufferBytes.map(Int32.init) {
                    setsockopt(socket, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
                }
            }
            guard let socket = connected else { throw RawSocketError(description: "connect to \(port) failed") }
            let client = RawWebSocket(socket: socket)
            // The RFC 6455 example key, whose accept value is known.
            let request =
                "GET /v1/ws?token=\(token) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
            try client.write(Array(request.utf8))
            let head = try client.readHead()
            guard head.hasPrefix("HTTP/1.1 101") else { throw RawSocketError(description: "upgrade refused: \(head)") }
            guard head.lowercased().contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=") else {
                throw RawSocketError(description: "upgrade without the right Sec-WebSocket-Accept: \(head)")
            }
            return client
        }
    }

    /// Sends one masked text frame.
    func send(text: String) async throws {
        try await send(opcode: 0x1, payload: Array(text.utf8))
    }

    /// Answers the server's close frame with one of the same code, as the close handshake asks.
    func sendClose(code: Int) async throws {
        try await send(opcode: 0x8, payload: [UInt8(code >> 8), UInt8(code & 0xff)])
    }

    private func send(opcode: UInt8, payload: [UInt8]) async throws {
        var frame: [UInt8] = [0x80 | opcode]
        switch payload.count {
        case ..<126: frame.append(0x80 | UInt8(payload.count))
        case ..<65536: frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xff)]
        default:
            frame.append(0x80 | 127)
            frame += (0..<8).reversed().map { UInt8(truncatingIfNeeded: payload.count >> ($0 * 8)) }
        }
        let mask = (0..<4).map { _ in UInt8.random(in: 0...255) }
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        let bytes = frame
        try await offThread { try self.write(bytes) }
    }

    func send(_ object: [String: Any]) async throws {
        try await send(text: String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self))
    }

    /// The next frame, or `nil` once the server ended the connection. Throws when nothing
    /// arrives within `timeout`.
    func readFrame(timeout: Duration = .seconds(20)) async throws -> Frame? {
        try await offThread { try self.nextFrame(deadline: ContinuousClock.now.advanced(by: timeout)) }
    }

    /// Reads frames, on one thread, up to and including a close frame or until the server ended
    /// the connection.
    func readUntilClose(timeout: Duration = .seconds(20)) async throws -> [Frame] {
        try await offThread {
            let deadline = ContinuousClock.now.advanced(by: timeout)
            var frames: [Frame] = []
            while let frame = try self.nextFrame(deadline: deadline) {
                frames.append(frame)
                if frame.opcode == 0x8 { break }
            }
            return frames
        }
    }

    /// Reads frames until the reply to the request with this id; returns it.
    func reply(to id: String, timeout: Duration = .seconds(20)) async throws -> [String: Any] {
        let deadline = ContinuousClock.now.advanced(by: timeout)
        while true {
            guard let frame = try await readFrame(timeout: deadline - ContinuousClock.now) else {
                throw RawSocketError(description: "connection ended before the reply to \(id)")
            }
            if frame.opcode == 0x1, frame.object["id"] as? String == id { return frame.object }
        }
    }

    private func write(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let count = bytes[sent...].withUnsafeBytes { Glibc.send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard count > 0 else { throw RawSocketError(description: "send failed: errno \(errno)") }
            sent += count
        }
    }

    /// Reads more bytes into `pending`; false at the end of the connection.
    private func fill(deadline: ContinuousClock.Instant) throws -> Bool {
        let left = deadline - ContinuousClock.now
        guard left > .zero else { throw RawSocketError(description: "timed out reading") }
        var timeout = timeval(tv_sec: Int(left.components.seconds), tv_usec: Int(left.components.attoseconds / 1_000_000_000_000) + 1)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var buffer = [UInt8](repeating: 0, count: 65536)
        let count = buffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        if count < 0, errno == EAGAIN || errno == EWOULDBLOCK { throw RawSocketError(description: "timed out reading") }
        // A reset after the server closed counts as the end of the connection.
        guard count > 0 else { return false }
        pending += buffer[0..<count]
        return true
    }

    private func readHead() throws -> String {
        let deadline = ContinuousClock.now.advanced(by: .seconds(20))
        let separator = Array("\r\n\r\n".utf8)
        while true {
            if pending.count >= 4, let end = (0...(pending.count - 4)).first(where: { Array(pending[$0..<($0 + 4)]) == separator }) {
                let head = String(decoding: pending[0..<end], as: UTF8.self)
                pending.removeFirst(end + 4)
                return head
            }
            guard try fill(deadline: deadline) else { throw RawSocketError(description: "connection ended during the upgrade") }
        }
    }

    private func nextFrame(deadline: ContinuousClock.Instant) throws -> Frame? {
        while true {
            if let frame = try parseFrame() { return frame }
            guard try fill(deadline: deadline) else {
                if pending.isEmpty { return nil }
                throw RawSocketError(description: "connection ended inside a frame")
            }
        }
    }

    private func parseFrame() throws -> Frame? {
        guard pending.count >= 2 else { return nil }
        guard pending[1] & 0x80 == 0 else { throw RawSocketError(description: "the server sent a masked frame") }
        var length = Int(pending[1] & 0x7f)
        var offset = 2
        if length == 126 {
            guard pending.count >= 4 else { return nil }
            length = Int(pending[2]) << 8 | Int(pending[3])
            offset = 4
        } else if length == 127 {
            guard pending.count >= 10 else { return nil }
            length = pending[2..<10].reduce(0) { $0 << 8 | Int($1) }
            offset = 10
        }
        guard pending.count >= offset + length else { return nil }
        let frame = Frame(opcode: pending[0] & 0x0f, payload: Array(pending[offset..<(offset + length)]))
        pending.removeFirst(offset + length)
        return frame
    }
}

/// Runs blocking socket calls on a thread of their own.
private func offThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}
