import CRdKafka

/// A Kafka error code, as numbered by the Kafka protocol (positive) and librdkafka (negative, local errors).
public struct KafkaErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let noError = KafkaErrorCode(rawValue: 0)
    public static let offsetOutOfRange = KafkaErrorCode(rawValue: 1)
    public static let unknownTopicOrPartition = KafkaErrorCode(rawValue: 3)
    public static let messageSizeTooLarge = KafkaErrorCode(rawValue: 10)
    public static let leaderNotAvailable = KafkaErrorCode(rawValue: 5)
    public static let notLeaderForPartition = KafkaErrorCode(rawValue: 6)
    public static let requestTimedOut = KafkaErrorCode(rawValue: 7)
    public static let notEnoughReplicas = KafkaErrorCode(rawValue: 19)
    public static let notEnoughReplicasAfterAppend = KafkaErrorCode(rawValue: 20)
    public static let topicAlreadyExists = KafkaErrorCode(rawValue: 36)
    public static let unsupportedFeature = KafkaErrorCode(rawValue: -165)
    /// The topic has no such partition (local: librdkafka knows the topic's partitions).
    public static let unknownPartition = KafkaErrorCode(rawValue: -190)
    public static let messageTimedOut = KafkaErrorCode(rawValue: -192)
    public static let transport = KafkaErrorCode(rawValue: -195)
    public static let allBrokersDown = KafkaErrorCode(rawValue: -187)
    public static let queueFull = KafkaErrorCode(rawValue: -184)
    public static let timedOut = KafkaErrorCode(rawValue: -185)
    public static let fatal = KafkaErrorCode(rawValue: -150)
    public static let destroyed = KafkaErrorCode(rawValue: -197)

    init(_ native: rd_kafka_resp_err_t) { self.rawValue = native.rawValue }

    var native: rd_kafka_resp_err_t { rd_kafka_resp_err_t(rawValue: rawValue) }

    /// librdkafka's own name for the code, e.g. `NOT_LEADER_FOR_PARTITION`.
    public var name: String { String(cString: rd_kafka_err2name(native)) }

    public var description: String { String(cString: rd_kafka_err2str(native)) }
}

/// An error reported by librdkafka or by the wrapper around it.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// The Kafka or librdkafka error code.
    public let code: KafkaErrorCode
    /// A human readable explanation, including what the wrapper was doing.
    public let message: String
    /// Retrying the same operation later may succeed (broker unavailable, timeout, queue full).
    public let isRetriable: Bool
    /// The client instance cannot be used any more (for example an idempotence fatal error).
    public let isFatal: Bool

    public init(code: KafkaErrorCode, message: String, isRetriable: Bool? = nil, isFatal: Bool = false) {
        self.code = code
        self.message = message
        self.isRetriable = isRetriable ?? Self.retriableCodes.contains(code)
        self.isFatal = isFatal || code == .fatal
    }

    init(_ native: rd_kafka_resp_err_t, _ context: String) {
        self.init(code: KafkaErrorCode(native), message: context)
    }

    public var description: String {
        "\(message): \(code.description) (\(code.name))"
    }

    static let retriableCodes: Set<KafkaErrorCode> = [
        .leaderNotAvailable, .notLeaderForPartition, .requestTimedOut, .notEnoughReplicas,
        .notEnoughReplicasAfterAppend, .messageTimedOut, .transport, .allBrokersDown, .queueFull, .timedOut,
    ]

    static func configuration(_ message: String) -> KafkaError {
        KafkaError(code: KafkaErrorCode(rawValue: -186), message: message, isRetriable: false)  // __INVALID_ARG
    }

    static func closed(_ what: String) -> KafkaError {
        KafkaError(code: .destroyed, message: "\(what) is closed", isRetriable: false)
    }
}

extension String {
    /// Decodes the NUL-terminated text librdkafka wrote into an error buffer.
    init(nullTerminated buffer: [CChar]) {
        self.init(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
