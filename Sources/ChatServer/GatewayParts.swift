import ChatDomain
import ChatFanout
import ChatGateway
import ChatHistory
import ChatPresence
import Kafka
import Logging
import Metrics

/// What the cluster looks like to a gateway node at start-up.
struct ClusterLayout: Sendable {
    var epoch: LogEpoch
    var partitioner: RoomPartitioner
    var presencePartitions: Int32
    var cursorPartitions: Int32
}

extension ChatNode {
    /// Checks that the chat topics exist and reads their partition counts.
    static func clusterLayout(configuration: ChatNodeConfiguration, admin: KafkaAdmin, bootstrapServers: String) async throws -> ClusterLayout {
        do {
            let clusterID = try await admin.clusterID()
            let topics = try await admin.topics()
            for topic in ChatTopics.all where topics[topic] == nil {
                throw ChatNodeStartupError(description: "topic \(topic) does not exist: run `chatctl topics apply --brokers \(bootstrapServers)`")
            }
            guard let count = try await admin.partitionCount(topic: ChatTopics.rooms) else {
                throw ChatNodeStartupError(
                    description: "topic \(ChatTopics.rooms) does not exist: run `chatctl topics apply --brokers \(bootstrapServers)`")
            }
            let roomPartitions = configuration.roomPartitions ?? Int32(count)
            guard roomPartitions <= count else {
                throw ChatNodeStartupError(description: "--room-partitions \(roomPartitions) exceeds the \(count) partitions of \(ChatTopics.rooms)")
            }
            return ClusterLayout(
                epoch: LogEpoch(clusterID: clusterID, topic: ChatTopics.rooms), partitioner: RoomPartitioner(partitionCount: roomPartitions),
                presencePartitions: Int32(topics[ChatTopics.presence]!), cursorPartitions: Int32(topics[ChatTopics.cursors]!))
        } catch let error as ChatNodeStartupError {
            throw error
        } catch {
            throw ChatNodeStartupError(description: "cannot reach Kafka at \(bootstrapServers) (\(error)); check --brokers and the network")
        }
    }
}

/// The gateway role's clients and services, which the node starts, stops and closes.
struct GatewayParts: Sendable {
    let producer: KafkaProducer
    let fanout: Fanout
    let sharedReader: KafkaPartitionReader
    let presence: PresenceService
    let readPositions: ReadPositions
    let partitioner: RoomPartitioner
    let gateway: Gateway

    init(
        configuration: ChatNodeConfiguration, layout: ClusterLayout, admin: KafkaAdmin, bootstrapServers: String, embedded: Bool,
        metricsFactory: any MetricsFactory, logger: Logger
    ) async throws {
        let kafka = configuration.kafkaConfiguration(bootstrapServers: bootstrapServers)
        let consumerKafka = configuration.consumerConfiguration(bootstrapServers: bootstrapServers, embedded: embedded)
        let backgroundConsumerKafka = configuration.consumerConfiguration(
            bootstrapServers: bootstrapServers, embedded: embedded, embeddedFetchWaitMilliseconds: 50)
        let epoch = layout.epoch
        let partitioner = layout.partitioner
        let authority: TokenAuthority
        do {
            authority = try await configuration.tokenAuthority()
        } catch {
            throw ChatNodeStartupError(description: "\(error)")
        }

        var producerConfiguration = kafka
        producerConfiguration["delivery.timeout.ms"] =
            producerConfiguration["delivery.timeout.ms"]
            ?? String(configuration.gateway.sendTimeout.components.seconds * 1000)
        // The producer's queue holds at most its share of the node's memory budget; when full,
        // sends are answered `unavailable` at once (see Ingress).
        producerConfiguration["queue.buffering.max.kbytes"] =
            producerConfiguration["queue.buffering.max.kbytes"]
            ?? String(max(1, configuration.producerQueueKilobytes))
        let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
        do {
            try await producer.loadTopicMetadata(timeout: .seconds(5))
        } catch {
            logger.warning("the producer could not load topic metadata at start; first messages may wait for it", metadata: ["error": "\(error)"])
        }
        var fanoutConfiguration = FanoutConfiguration(
            kafka: consumerKafka, groupID: ChatConsumerGroups.fanout(nodeID: configuration.gateway.nodeID), partitioner: partitioner, epoch: epoch)
        fanoutConfiguration.duplicateSpan = configuration.duplicateSpan
        fanoutConfiguration.cachedEventsPerRoom = configuration.cachedEventsPerRoom
        let snapshots = configuration.snapshotDirectory.map { SnapshotStore(directory: SnapshotDirectory(root: $0, epoch: epoch)) }
        fanoutConfiguration.snapshots = snapshots.map { SnapshotCatchUpSource(store: $0) }
        let reads = ConcurrencyLimiter(maxRunning: configuration.gateway.maxConcurrentReads, maxWaiting: configuration.gateway.maxQueuedReads)
        fanoutConfiguration.readLimiter = reads
        let fanout: Fanout
        do {
            fanout = try Fanout(configuration: fanoutConfiguration, admin: admin, metricsFactory: metricsFactory, logger: logger)
        } catch {
            await producer.close()
            throw error
        }
        let metrics = GatewayMetrics(factory: metricsFactory)
        let sharedReader = KafkaPartitionReader(
            configuration: consumerKafka, topic: ChatTopics.rooms, maxWaiting: configuration.historyReaderQueueLimit,
            observers: metrics.historyReaderObservers, logger: logger)
        var logHistory = LogHistory(
            reader: PartitionRangeReader(shared: sharedReader), admin: admin, partitioner: partitioner, duplicateSpan: configuration.duplicateSpan,
            scanLimit: configuration.historyScanLimit)
        // History folds start mid-log: they begin with the room states the fan-out folded.
        logHistory.roomStates = { [fanout] partition, offset in try await fanout.roomStates(partition: partition, before: offset) }
        var presenceConfiguration = PresenceConfiguration(nodeID: configuration.gateway.nodeID, kafka: backgroundConsumerKafka)
        presenceConfiguration.heartbeatInterval = configuration.presenceHeartbeatInterval
        presenceConfiguration.staleAfter = configuration.presenceStaleAfter
        let presence = PresenceService(
            configuration: presenceConfiguration, partitionCount: layout.presencePartitions, producer: producer, admin: admin, logger: logger)
        let readPositions = ReadPositions(
            kafka: backgroundConsumerKafka, partitionCount: layout.cursorPartitions, producer: producer, logger: logger,
            roomBounds: RoomLogBounds(epoch: epoch, partitioner: partitioner, admin: admin))
        self.producer = producer
        self.fanout = fanout
        self.sharedReader = sharedReader
        self.presence = presence
        self.readPositions = readPositions
        self.partitioner = partitioner
        self.gateway = Gateway(
            configuration: configuration.gateway,
            parts: .init(
                producer: producer, admin: admin, fanout: fanout, presence: presence, readPositions: readPositions, history: logHistory,
                snapshots: snapshots, reads: reads, authority: authority, metrics: metrics, epoch: epoch, partitioner: partitioner),
            logger: logger)
    }

    /// Closes what the services do not close themselves, after they stopped.
    func close() async {
        gateway.stop()
        await sharedReader.close()
        await producer.close()
    }
}
