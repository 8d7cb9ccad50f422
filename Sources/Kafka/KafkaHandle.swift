import CRdKafka
import Foundation

/// Owns one `rd_kafka_t`. Only the Kafka module sees it; it never leaves the wrapper.
///
/// Marked `@unchecked Sendable` because librdkafka handles are thread-safe; the wrapper still
/// confines polling and destruction to one dedicated thread per client.
final class KafkaHandle: @unchecked Sendable {
    let pointer: OpaquePointer

    enum Kind {
        case producer, consumer

        var native: rd_kafka_type_t { self == .producer ? RD_KAFKA_PRODUCER : RD_KAFKA_CONSUMER }
    }

    /// Takes ownership of `nativeConfiguration` on success and on failure.
    init(kind: Kind, nativeConfiguration: OpaquePointer) throws {
        var errorBuffer = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(kind.native, nativeConfiguration, &errorBuffer, errorBuffer.count) else {
            rd_kafka_conf_destroy(nativeConfiguration)
            let reason = String(nullTerminated: errorBuffer)
            throw KafkaError.configuration("cannot create Kafka client: \(reason)")
        }
        self.pointer = handle
    }

    /// Blocks until librdkafka has stopped its threads: call it from a dedicated thread only.
    func destroyBlocking() {
        rd_kafka_destroy(pointer)
    }
}

/// A thread of its own for a client's poll loop.
enum KafkaThread {
    static func start(name: String, _ body: @escaping @Sendable () -> Void) {
        let thread = Thread(block: body)
        thread.name = name
        thread.start()
    }
}
