import CRdKafka
import Logging

/// Routes librdkafka's log lines to swift-log. librdkafka calls this from its own threads;
/// swift-log handlers are thread-safe, so the line is handed over as it is.
final class KafkaLogSink: Sendable {
    let logger: Logger

    init(logger: Logger) { self.logger = logger }

    func log(level: Int32, facility: String, message: String) {
        let swiftLevel: Logger.Level =
            switch level {
            case ...3: .warning
            case 4: .notice
            default: .debug
            }
        logger.log(level: swiftLevel, "\(message)", metadata: ["kafka.facility": "\(facility)"])
    }
}

/// The conf opaque of every handle points at an object of this protocol so that the C callbacks,
/// which cannot capture context, find their way back to Swift.
protocol KafkaCallbackTarget: AnyObject {
    var logSink: KafkaLogSink { get }
}

let kafkaLogCallback: @convention(c) (OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Void = {
    handle, level, facility, message in
    guard let handle, let opaque = rd_kafka_opaque(handle) else { return }
    let target = Unmanaged<AnyObject>.fromOpaque(opaque).takeUnretainedValue() as? any KafkaCallbackTarget
    target?.logSink.log(
        level: level,
        facility: facility.map { String(cString: $0) } ?? "",
        message: message.map { String(cString: $0) } ?? ""
    )
}
