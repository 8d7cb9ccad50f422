import CRdKafka

/// librdkafka configuration properties (see librdkafka's CONFIGURATION.md).
///
/// Kept as plain string properties so that every librdkafka setting, including TLS and SASL,
/// can be passed through from the command line or the environment without the wrapper knowing it.
public struct KafkaConfiguration: Sendable {
    public var properties: [String: String]

    public init(bootstrapServers: String, properties: [String: String] = [:]) {
        self.properties = properties
        self.properties["bootstrap.servers"] = bootstrapServers
    }

    public var bootstrapServers: String { properties["bootstrap.servers"] ?? "" }

    public subscript(key: String) -> String? {
        get { properties[key] }
        set { properties[key] = newValue }
    }

    /// Returns a copy in which `defaults` fill the properties that are not set.
    public func withDefaults(_ defaults: [String: String]) -> KafkaConfiguration {
        var copy = self
        copy.properties.merge(defaults) { current, _ in current }
        return copy
    }

    /// Builds a native `rd_kafka_conf_t`; the caller owns it until it is passed to `rd_kafka_new`.
    func makeNative() throws -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError.configuration("rd_kafka_conf_new failed")
        }
        var errorBuffer = [CChar](repeating: 0, count: 512)
        for (key, value) in properties.sorted(by: { $0.key < $1.key }) {
            let result = rd_kafka_conf_set(conf, key, value, &errorBuffer, errorBuffer.count)
            if result != RD_KAFKA_CONF_OK {
                rd_kafka_conf_destroy(conf)
                let reason = String(nullTerminated: errorBuffer)
                throw KafkaError.configuration("invalid Kafka property \(key)=\(value): \(reason)")
            }
        }
        return conf
    }
}
