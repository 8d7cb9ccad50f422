import NIOCore

/// A server frame as the bytes a connection sends: one complete WebSocket text frame, header and
/// JSON payload, built once and written to every recipient.
///
/// Server frames are never masked (RFC 6455 5.1), so every recipient gets identical bytes and the
/// one buffer is shared by reference count, never copied per connection.
public struct WireFrame: Sendable {
    /// The frame, header included; write it as is.
    public let bytes: ByteBuffer

    /// Frames `json` as a final text frame.
    public init(json: String) {
        let payloadLength = json.utf8.count
        var buffer = ByteBufferAllocator().buffer(capacity: Self.headerLength(payloadLength) + payloadLength)
        Self.writeHeader(opcode: 0x1, payloadLength: payloadLength, into: &buffer)
        buffer.writeString(json)
        self.bytes = buffer
    }

    /// A final frame of `opcode` carrying `payload` (control frames: close, ping, pong).
    public init(opcode: UInt8, payload: ByteBuffer) {
        var buffer = ByteBufferAllocator().buffer(capacity: Self.headerLength(payload.readableBytes) + payload.readableBytes)
        Self.writeHeader(opcode: opcode, payloadLength: payload.readableBytes, into: &buffer)
        var payload = payload
        buffer.writeBuffer(&payload)
        self.bytes = buffer
    }

    /// Bytes on the wire.
    public var count: Int { bytes.readableBytes }

    /// The frame's payload (the JSON of a text frame), without the header.
    public var payload: ByteBuffer {
        let second = bytes.getInteger(at: bytes.readerIndex + 1, as: UInt8.self) ?? 0
        let header = second == 127 ? 10 : second == 126 ? 4 : 2
        return bytes.getSlice(at: bytes.readerIndex + header, length: bytes.readableBytes - header) ?? ByteBuffer()
    }

    static func headerLength(_ payloadLength: Int) -> Int {
        payloadLength < 126 ? 2 : payloadLength <= Int(UInt16.max) ? 4 : 10
    }

    private static func writeHeader(opcode: UInt8, payloadLength: Int, into buffer: inout ByteBuffer) {
        buffer.writeInteger(0x80 | opcode)  // FIN: server frames are never fragmented
        if payloadLength < 126 {
            buffer.writeInteger(UInt8(payloadLength))
        } else if payloadLength <= Int(UInt16.max) {
            buffer.writeInteger(UInt8(126))
            buffer.writeInteger(UInt16(payloadLength))
        } else {
            buffer.writeInteger(UInt8(127))
            buffer.writeInteger(UInt64(payloadLength))
        }
    }
}
