import AsyncOneShot
import Foundation
import HummingbirdWSClient
import Logging

/// One WebSocket session of the benchmark. Incoming text frames go to `onText` on the client's
/// reading task; outgoing frames are queued and written in order by a writer task.
final class BenchClient: Sendable {
    private let outgoing: AsyncStream<String>.Continuation
    private let task: Task<Void, any Error>

    private init(outgoing: AsyncStream<String>.Continuation, task: Task<Void, any Error>) {
        self.outgoing = outgoing
        self.task = task
    }

    /// Connects and waits for the upgrade; throws when it was refused.
    static func connect(url: String, onText: @escaping @Sendable (String) -> Void) async throws -> BenchClient {
        let (stream, continuation) = AsyncStream.makeStream(of: String.self)
        let connected = OneShot<Bool>()
        var configuration = WebSocketClientConfiguration(maxFrameSize: 1 << 20)
        configuration.autoPing = .disabled
        var logger = Logger(label: "chat-bench.ws")
        logger.logLevel = .critical
        let task = Task {
            defer { connected.resolve(false) }
            _ = try await WebSocketClient.connect(url: url, configuration: configuration, logger: logger) { inbound, outbound, _ in
                connected.resolve(true)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for await text in stream { try await outbound.write(.text(text)) }
                        try await outbound.close(.normalClosure, reason: nil)
                    }
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        if case .text(let text) = message { onText(text) }
                    }
                    group.cancelAll()
                }
            }
        }
        guard await connected.value() else {
            _ = await task.result
            throw BenchError.refused(url)
        }
        return BenchClient(outgoing: continuation, task: task)
    }

    func send(_ text: String) { outgoing.yield(text) }

    func close() async {
        outgoing.finish()
        _ = await task.result
    }
}

enum BenchError: Error, CustomStringConvertible {
    case refused(String)
    case failed(String)

    var description: String {
        switch self {
        case .refused(let url): "WebSocket upgrade refused or connection failed: \(url)"
        case .failed(let why): why
        }
    }
}

/// Stamps carried in frames: the bench finds them with a substring scan rather than a JSON
/// parse, so the client's own cost stays small next to the server's.
enum Stamp {
    /// Body of a sent message: `T~<monotonic ns>~`.
    static func body(_ nanoseconds: Int64) -> String { "bench T~\(nanoseconds)~" }
    /// Request id of a send: `ack~<monotonic ns>~`.
    static func id(_ nanoseconds: Int64) -> String { "ack~\(nanoseconds)~" }

    /// The number after `marker` up to the next `~`, if the frame carries one.
    ///
    /// A plain byte scan: Foundation's `range(of:)` was 3 % of the whole process (server included)
    /// at 20,000 deliveries/s, CPU the bench took from the gateway it measures.
    static func find(_ marker: StaticString, in text: String) -> Int64? {
        var text = text
        return text.withUTF8 { find(marker, in: $0) }
    }

    /// ``find(_:in:)-(_,String)`` on a frame's bytes as they came off the socket.
    static func find(_ marker: StaticString, in bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        let needle = UnsafeBufferPointer(start: marker.utf8Start, count: marker.utf8CodeUnitCount)
        guard let first = needle.first, bytes.count >= needle.count else { return nil }
        var index = 0
        while index <= bytes.count - needle.count {
            if bytes[index] == first, (1..<needle.count).allSatisfy({ bytes[index + $0] == needle[$0] }) {
                var value: Int64 = 0
                for byte in bytes[(index + needle.count)...] {
                    if byte == UInt8(ascii: "~") { return value }
                    guard byte >= 48, byte <= 57 else { return nil }
                    value = value &* 10 &+ Int64(byte - 48)
                }
                return nil
            }
            index += 1
        }
        return nil
    }
}

/// CLOCK_MONOTONIC in nanoseconds: senders and receivers share the clock (same host).
func monotonicNanoseconds() -> Int64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
}

/// Human progress goes to stderr; stdout carries only the JSON report.
func progress(_ line: String) {
    FileHandle.standardError.write(Data("chat-bench: \(line)\n".utf8))
}
