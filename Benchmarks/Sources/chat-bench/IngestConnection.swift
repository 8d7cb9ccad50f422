import Foundation
import NIOCore
import NIOPosix
import Synchronization

/// What the ingest sessions of one run share: the phase, the counters and the ack latencies.
final class IngestRun: Sendable {
    /// 0 warming up, 1 measuring, 2 stopped (acks no longer release sends).
    let phase = Atomic<Int>(0)
    let acks = LatencyRecorder()
    let acked = Counter()
    let joined = Counter()
    let sequence = Atomic<Int>(0)
    let tag: Substring

    init(tag: Substring) { self.tag = tag }

    /// A `send` request carrying its send time in the id (the ack echoes it) and a unique cmid.
    func sendFrame(room: String) -> String {
        let number = sequence.add(1, ordering: .relaxed).newValue
        let now = monotonicNanoseconds()
        return #"{"op":"send","room":"\#(room)","cmid":"i\#(number)-\#(now)","id":"\#(Stamp.id(now))","body":"x"}"#
    }
}

/// One ingest session on a bare NIO channel: the WebSocket upgrade written by hand, frames parsed
/// from the socket's bytes, and the closed loop run on the channel's event loop (an ack writes the
/// next send at once, flushed once per read burst). HummingbirdWSClient costs a task wake-up,
/// a `String` and an async-stream hop per frame on each side; at tens of thousands of acks per
/// second on 2 shared cores that client, not the gateway, set the figure.
final class IngestConnection: Sendable {
    private let channel: any Channel
    private let handler: NIOLoopBound<IngestHandler>

    private init(channel: any Channel, handler: NIOLoopBound<IngestHandler>) {
        self.channel = channel
        self.handler = handler
    }

    /// Connects, upgrades and joins `room`; returns once the upgrade is answered with 101.
    static func connect(url: String, room: String, run: IngestRun) async throws -> IngestConnection {
        guard let parsed = URLComponents(string: url), let host = parsed.host, let port = parsed.port else {
            throw BenchError.failed("cannot parse \(url)")
        }
        let target = parsed.percentEncodedPath + (parsed.percentEncodedQuery.map { "?\($0)" } ?? "")
        let request =
            "GET \(target) HTTP/1.1\r\nHost: \(host):\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connect(host: host, port: port).get()
        let upgraded = channel.eventLoop.makePromise(of: Void.self)
        let handler = try await channel.eventLoop.submit {
            let handler = IngestHandler(request: request, room: room, run: run, upgraded: upgraded)
            try channel.pipeline.syncOperations.addHandler(handler)
            return NIOLoopBound(handler, eventLoop: channel.eventLoop)
        }.get()
        do {
            try await upgraded.futureResult.get()
        } catch {
            try? await channel.close()
            throw BenchError.refused(url)
        }
        return IngestConnection(channel: channel, handler: handler)
    }

    /// Puts `count` sends in flight.
    func startSending(_ count: Int) {
        let handler = handler
        channel.eventLoop.execute { handler.value.sendSends(count) }
    }

    func close() async {
        try? await channel.close()
    }
}

/// The channel's only handler (event loop only).
final class IngestHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let request: String
    private let room: String
    private let run: IngestRun
    private let upgraded: EventLoopPromise<Void>
    private var isUpgraded = false
    private var pending: ByteBuffer?
    private var context: ChannelHandlerContext?
    private var wrote = false
    private var joined = false

    init(request: String, room: String, run: IngestRun, upgraded: EventLoopPromise<Void>) {
        self.request = request
        self.room = room
        self.run = run
        self.upgraded = upgraded
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(string: request)), promise: nil)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        upgraded.fail(BenchError.failed("closed before the upgrade"))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        upgraded.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        upgraded.fail(BenchError.failed("closed before the upgrade"))
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if var previous = pending {
            previous.writeBuffer(&bytes)
            bytes = previous
            pending = nil
        }
        if !isUpgraded {
            guard let end = bytes.readableBytesView.firstRange(of: Array("\r\n\r\n".utf8)) else {
                pending = bytes
                return
            }
            let head = bytes.readString(length: end.upperBound - bytes.readerIndex) ?? ""
            guard head.hasPrefix("HTTP/1.1 101") else {
                upgraded.fail(BenchError.failed(String(head.prefix(80))))
                context.close(promise: nil)
                return
            }
            isUpgraded = true
            upgraded.succeed()
            write(#"{"op":"join","room":"\#(room)","id":"j"}"#, context: context)
        }
        while let frame = Self.nextFrame(&bytes) {
            switch frame.opcode {
            case 0x1: text(frame.payload, context: context)
            case 0x8: context.close(promise: nil)
            case 0x9: write(frame.payload, opcode: 0xA, context: context)
            default: break
            }
        }
        if bytes.readableBytes > 0 { pending = bytes }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if wrote {
            wrote = false
            context.flush()
        }
    }

    func sendSends(_ count: Int) {
        guard let context else { return }
        for _ in 0..<count { write(run.sendFrame(room: room), context: context) }
        context.flush()
        wrote = false
    }

    private func text(_ payload: ByteBuffer, context: ChannelHandlerContext) {
        let ack = payload.withUnsafeReadableBytes { Stamp.find("ack~", in: $0.bindMemory(to: UInt8.self)) }
        if let sent = ack {
            let phase = run.phase.load(ordering: .relaxed)
            if phase == 1 {
                run.acks.record(monotonicNanoseconds() - sent)
                run.acked.add()
            }
            // Closed loop: every ack releases the next send.
            if phase < 2 { write(run.sendFrame(room: room), context: context) }
        } else if !joined, payload.readableBytesView.firstRange(of: Array(#""joined""#.utf8)) != nil {
            joined = true
            run.joined.add()
        }
    }

    private func write(_ text: String, context: ChannelHandlerContext) {
        write(ByteBuffer(string: text), opcode: 0x1, context: context)
    }

    /// A client frame: final, masked (RFC 6455 requires it) with an all-zero key, so the payload's
    /// bytes go out as they are.
    private func write(_ payload: ByteBuffer, opcode: UInt8, context: ChannelHandlerContext) {
        var frame = context.channel.allocator.buffer(capacity: payload.readableBytes + 14)
        frame.writeInteger(0x80 | opcode)
        let length = payload.readableBytes
        if length < 126 {
            frame.writeInteger(UInt8(0x80 | length))
        } else if length <= Int(UInt16.max) {
            frame.writeInteger(UInt8(0x80 | 126))
            frame.writeInteger(UInt16(length))
        } else {
            frame.writeInteger(UInt8(0x80 | 127))
            frame.writeInteger(UInt64(length))
        }
        frame.writeInteger(UInt32(0))
        frame.writeImmutableBuffer(payload)
        context.write(wrapOutboundOut(frame), promise: nil)
        wrote = true
    }

    /// Takes one complete server frame (unmasked) off the front of `bytes`, if it holds one.
    private static func nextFrame(_ bytes: inout ByteBuffer) -> (opcode: UInt8, payload: ByteBuffer)? {
        let start = bytes.readerIndex
        guard let first = bytes.getInteger(at: start, as: UInt8.self), let second = bytes.getInteger(at: start + 1, as: UInt8.self) else {
            return nil
        }
        var headerLength = 2
        var length = Int(second & 0x7F)
        if length == 126 {
            guard let extended = bytes.getInteger(at: start + 2, as: UInt16.self) else { return nil }
            length = Int(extended)
            headerLength = 4
        } else if length == 127 {
            guard let extended = bytes.getInteger(at: start + 2, as: UInt64.self) else { return nil }
            length = Int(extended)
            headerLength = 10
        }
        if second & 0x80 != 0 { headerLength += 4 }  // servers do not mask; skip a key if one came
        guard bytes.readableBytes >= headerLength + length else { return nil }
        bytes.moveReaderIndex(forwardBy: headerLength)
        let payload = bytes.readSlice(length: length)!
        return (first & 0x0F, payload)
    }
}
