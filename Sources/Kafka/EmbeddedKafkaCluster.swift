import CRdKafka
import Logging

/// A Kafka cluster inside this process: librdkafka's mock cluster, several brokers speaking the
/// real Kafka protocol over TCP on loopback, with fault injection for tests.
///
/// Used by default in development (no brokers configured) and by the tests.
public final class EmbeddedKafkaCluster: Sendable {
    private let owner: KafkaHandle
    private let cluster: MockClusterPointer
    private let callbacks: AdminCallbacks

    /// `host:port,...` of the brokers, for `bootstrap.servers`.
    public let bootstrapServers: String
    public let brokerCount: Int

    public init(brokers: Int = 3, logger: Logger = Logger(label: "kafka.embedded")) throws {
        var configuration = KafkaConfiguration(bootstrapServers: "")
        configuration.properties["bootstrap.servers"] = nil
        // The owner handle never connects anywhere; its "no bootstrap.servers" warning is noise.
        configuration.properties["log_level"] = "3"
        let nativeConfiguration = try configuration.makeNative()
        let callbacks = AdminCallbacks(logSink: KafkaLogSink(logger: logger))
        rd_kafka_conf_set_opaque(nativeConfiguration, Unmanaged.passUnretained(callbacks as AnyObject).toOpaque())
        rd_kafka_conf_set_log_cb(nativeConfiguration, kafkaLogCallback)
        let owner = try KafkaHandle(kind: .producer, nativeConfiguration: nativeConfiguration)
        guard let cluster = rd_kafka_mock_cluster_new(owner.pointer, Int32(brokers)) else {
            owner.destroyBlocking()
            throw KafkaError.configuration("cannot start an embedded Kafka cluster with \(brokers) brokers")
        }
        self.owner = owner
        self.callbacks = callbacks
        self.cluster = MockClusterPointer(pointer: cluster)
        self.brokerCount = brokers
        self.bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(cluster))
    }

    /// Creates a topic (the mock cluster does not implement the CreateTopics request).
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 3) throws {
        let result = rd_kafka_mock_topic_create(cluster.pointer, name, Int32(partitions), Int32(min(replicationFactor, brokerCount)))
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(result, "create topic \(name)") }
    }

    /// Takes a broker down: its connections are closed and it accepts no new ones until ``setBrokerUp(_:)``.
    public func setBrokerDown(_ broker: Int32) throws {
        try check(rd_kafka_mock_broker_set_down(cluster.pointer, broker), "broker \(broker) down")
    }

    public func setBrokerUp(_ broker: Int32) throws {
        try check(rd_kafka_mock_broker_set_up(cluster.pointer, broker), "broker \(broker) up")
    }

    /// Moves the leadership of a partition to `broker`.
    public func setPartitionLeader(topic: String, partition: Int32, broker: Int32) throws {
        try check(rd_kafka_mock_partition_set_leader(cluster.pointer, topic, partition, broker), "leader of \(topic)[\(partition)]")
    }

    /// Adds a round-trip delay to every request a broker answers.
    public func setBrokerRoundTripTime(_ broker: Int32, _ delay: Duration) throws {
        try check(rd_kafka_mock_broker_set_rtt(cluster.pointer, broker, delay.milliseconds), "rtt of broker \(broker)")
    }

    /// Makes the next requests of kind `api` (on any broker) fail with `errors`, one error per request.
    public func pushRequestErrors(api: KafkaAPIKey, errors: [KafkaErrorCode]) {
        var native = errors.map(\.native)
        rd_kafka_mock_push_request_errors_array(cluster.pointer, api.rawValue, native.count, &native)
    }

    /// Stops the brokers. Blocks while librdkafka joins its threads, so it runs on the blocking pool.
    public func shutdown() async {
        let owner = self.owner
        let cluster = self.cluster
        _ = try? await KafkaBlockingCalls.run {
            rd_kafka_mock_cluster_destroy(cluster.pointer)
            owner.destroyBlocking()
        }
    }

    private func check(_ result: rd_kafka_resp_err_t, _ what: String) throws {
        guard result == RD_KAFKA_RESP_ERR_NO_ERROR else { throw KafkaError(result, what) }
    }
}

/// Kafka protocol request kinds, for fault injection.
public struct KafkaAPIKey: RawRepresentable, Hashable, Sendable {
    public let rawValue: Int16
    public init(rawValue: Int16) { self.rawValue = rawValue }

    public static let produce = KafkaAPIKey(rawValue: 0)
    public static let fetch = KafkaAPIKey(rawValue: 1)
    public static let listOffsets = KafkaAPIKey(rawValue: 2)
    public static let metadata = KafkaAPIKey(rawValue: 3)
    public static let offsetCommit = KafkaAPIKey(rawValue: 8)
    public static let offsetFetch = KafkaAPIKey(rawValue: 9)
    public static let findCoordinator = KafkaAPIKey(rawValue: 10)
    public static let initProducerID = KafkaAPIKey(rawValue: 22)
}

/// `rd_kafka_mock_cluster_t` is thread-safe (its operations lock the cluster).
struct MockClusterPointer: @unchecked Sendable {
    let pointer: OpaquePointer
}
