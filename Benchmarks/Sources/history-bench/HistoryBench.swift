import ArgumentParser
import ChatCompactor
import ChatDomain
import ChatHistory
import Foundation
import Kafka
import Logging
import Metrics
import ServiceLifecycle

/// Compaction throughput and replay of one big room against a plain scan of its partition.
@main
struct HistoryBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history-bench",
        abstract: "Benchmark the compactor and `chatctl replay` on an embedded cluster.",
        discussion: """
            Produces --messages posts of one room plus --other-messages posts of --rooms other rooms into the same
            partition, in chunks small enough for the embedded cluster's per-partition retention (~5 MiB), running
            the continuous compactor folding each chunk before the next is produced (so nothing is lost to retention). Then times `chatctl replay` of
            the big room (first line, total) and a plain consumer scanning what the partition still holds.
            JSON report on stdout and in --output; progress on stderr.
            """)

    @Option(help: "Posts of the replayed room.")
    var messages: Int = 1_000_000

    @Option(help: "Posts of the other rooms, interleaved in the same partition.")
    var otherMessages: Int = 200_000

    @Option(help: "Number of other rooms.")
    var rooms: Int = 1000

    @Option(help: "Records per produced chunk, compacted before the next; keep chunk bytes well under 5 MiB.")
    var chunk: Int = 15_000

    @Option(help: "Partitions of chat.rooms.")
    var partitions: Int = 4

    @Option(help: "The chatctl binary to time (build it in release mode); required unless --steps-only.")
    var chatctl: String?

    @Option(help: "Also write the JSON report here.")
    var output: String?

    @Option(help: "Only time the compactor's steps in memory (decode + fold, segment write, merge) over this many records.")
    var stepsOnly: Int?

    func run() async throws {
        if let stepsOnly {
            try timeSteps(records: stepsOnly)
            return
        }
        guard let chatctl else { throw ValidationError("--chatctl PATH is required: the release chatctl binary to time") }
        var logger = Logger(label: "history-bench")
        logger.logLevel = .critical
        let cluster = try EmbeddedKafkaCluster(brokers: 3, logger: logger)
        for topic in ChatTopics.all { try cluster.createTopic(topic, partitions: partitions, replicationFactor: 3) }
        let kafka = KafkaConfiguration(bootstrapServers: cluster.bootstrapServers, properties: ["fetch.wait.max.ms": "2", "log_level": "3"])
        let admin = try KafkaAdmin(configuration: kafka, logger: logger)
        let producer = try KafkaProducer(configuration: kafka, logger: logger)
        let root = NSTemporaryDirectory() + "history-bench-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }

        let partitioner = RoomPartitioner(partitionCount: Int32(partitions))
        let big = RoomName("big-room")!
        let partition = partitioner.partition(for: big)
        // Other rooms of the same partition, so the replay has to pick its room out of a shared log.
        var neighbours: [RoomName] = []
        var candidate = 0
        while neighbours.count < rooms {
            let room = RoomName("room-\(candidate)")!
            if partitioner.partition(for: room) == partition { neighbours.append(room) }
            candidate += 1
        }

        var configuration = CompactorConfiguration(kafka: kafka, snapshotRoot: root)
        // Write a segment as soon as a chunk is folded, so the wait below measures folding and writing.
        configuration.policy.maxPendingAge = .milliseconds(50)
        let epoch = LogEpoch(clusterID: try await admin.clusterID(), topic: ChatTopics.rooms)
        let directory = SnapshotDirectory(root: root, epoch: epoch)
        let compactor = try Compactor(
            configuration: configuration, admin: admin, epoch: epoch, metricsFactory: NOOPMetricsHandler.instance, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: compactor)], logger: logger))
        let running = Task { try await group.run() }
        // Joining the group is not compaction: wait until the compactor owns the partition.
        while await compactor.coverage()[partition] == nil { try await Task.sleep(for: .milliseconds(20)) }
        let total = messages + otherMessages
        var produced = 0
        var bigPosted = 0
        var produceTime = Duration.zero
        var compactTime = Duration.zero
        var folded = 0
        let clock = ContinuousClock()
        let timestamp = Int64(Date().timeIntervalSince1970 * 1000)
        while produced < total {
            let count = min(chunk, total - produced)
            var records: [KafkaProducerRecord] = []
            records.reserveCapacity(count)
            for index in 0..<count {
                let sequence = produced + index
                // Spread the other rooms' posts evenly among the big room's.
                let isBig = (sequence + 1) * messages / total > sequence * messages / total
                let room = isBig ? big : neighbours[sequence % neighbours.count]
                if isBig { bigPosted += 1 }
                let event = RoomEvent(
                    room: room, from: "user\(sequence % 97)", timestamp: timestamp + Int64(sequence),
                    kind: .message(cmid: "m\(sequence)", body: "message number \(sequence)"))
                records.append(
                    KafkaProducerRecord(topic: ChatTopics.rooms, partition: partition, key: Array(room.value.utf8), value: event.encoded()))
            }
            let produceStart = clock.now
            _ = try await producer.send(records).get()
            produceTime += clock.now - produceStart
            produced += count
            let compactStart = clock.now
            while try directory.manifest(partition)?.coveredEnd ?? 0 < Int64(produced) {
                try await Task.sleep(for: .milliseconds(10))
            }
            compactTime += clock.now - compactStart
            folded += count
            FileHandle.standardError.write(Data("bench: \(produced)/\(total) produced and compacted\n".utf8))
        }
        await group.triggerGracefulShutdown()
        try await running.value
        let watermarks = try await admin.watermarks(topic: ChatTopics.rooms, partition: partition)
        let manifest = try directory.manifest(partition)
        FileHandle.standardError.write(
            Data("bench: log holds \(watermarks.low)..<\(watermarks.high); \(manifest?.segments.count ?? 0) segments\n".utf8))

        let replay = try await timeReplay(
            chatctl: chatctl, arguments: ["replay", "--room", big.value, "--brokers", cluster.bootstrapServers, "--snapshots", root])
        let replayJSONL = try await timeReplay(
            chatctl: chatctl,
            arguments: ["replay", "--room", big.value, "--format", "jsonl", "--brokers", cluster.bootstrapServers, "--snapshots", root])
        let scan = try await scanPartition(kafka: kafka, partition: partition, watermarks: watermarks, logger: logger)

        let snapshotBytes = manifest?.segments.reduce(Int64(0)) { $0 + $1.bytes } ?? 0
        let report: [String: Any] = [
            "messagesInRoom": bigPosted,
            "otherMessages": total - bigPosted,
            "otherRooms": rooms,
            "partitions": partitions,
            "produce": ["records": total, "seconds": seconds(produceTime), "recordsPerSecond": Double(total) / seconds(produceTime)],
            "compaction": [
                "records": folded, "seconds": seconds(compactTime), "recordsPerSecond": Double(folded) / seconds(compactTime),
                "chunks": (total + chunk - 1) / chunk, "segments": manifest?.segments.count ?? 0,
                "levels": manifest?.segments.map(\.level) ?? [], "snapshotBytes": snapshotBytes,
            ],
            "log": ["low": watermarks.low, "high": watermarks.high, "retainedRecords": watermarks.high - watermarks.low],
            "replayText": replay.json,
            "replayJSONL": replayJSONL.json,
            "rawScan": scan,
        ]
        let data = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
        FileHandle.standardOutput.write(data + Data("\n".utf8))
        if let output { try data.write(to: URL(fileURLWithPath: output)) }
        await producer.close()
        await admin.close()
        await cluster.shutdown()
    }

    struct ReplayTiming {
        var firstLine: Duration
        var total: Duration
        var lines: Int
        var bytes: Int
        var json: [String: Any] {
            [
                "firstLineSeconds": seconds(firstLine), "totalSeconds": seconds(total), "lines": lines, "bytes": bytes,
                "linesPerSecond": Double(lines) / seconds(total),
            ]
        }
    }

    /// Runs chatctl, reading its stdout as it comes: time to the first line and to the end.
    func timeReplay(chatctl: String, arguments: [String]) async throws -> ReplayTiming {
        return try await withCheckedThrowingContinuation { continuation in
            // A thread of its own: reading the pipe blocks.
            Thread {
                do {
                    let process = Process()
                    process.executableURL = URL(fileURLWithPath: chatctl)
                    process.arguments = arguments
                    let pipe = Pipe()
                    process.standardOutput = pipe
                    process.standardError = FileHandle.standardError
                    let clock = ContinuousClock()
                    let start = clock.now
                    try process.run()
                    var firstLine: Duration?
                    var lines = 0
                    var bytes = 0
                    let handle = pipe.fileHandleForReading
                    while true {
                        let data = handle.availableData
                        if data.isEmpty { break }
                        if firstLine == nil, data.contains(0x0A) { firstLine = clock.now - start }
                        bytes += data.count
                        lines += data.reduce(0) { $1 == 0x0A ? $0 + 1 : $0 }
                    }
                    process.waitUntilExit()
                    let total = clock.now - start
                    guard process.terminationStatus == 0 else {
                        throw ValidationError("chatctl \(arguments.joined(separator: " ")) exited with \(process.terminationStatus)")
                    }
                    continuation.resume(returning: ReplayTiming(firstLine: firstLine ?? total, total: total, lines: lines, bytes: bytes))
                } catch {
                    continuation.resume(throwing: error)
                }
            }.start()
        }
    }

    /// A plain consumer reading everything the partition still holds, decoding nothing.
    func scanPartition(kafka: KafkaConfiguration, partition: Int32, watermarks: KafkaWatermarks, logger: Logger) async throws -> [String: Any] {
        let clock = ContinuousClock()
        let start = clock.now
        let consumer = try KafkaConsumer(configuration: kafka, bufferCapacity: 20_000, logger: logger)
        try await consumer.assign([KafkaTopicPartition(topic: ChatTopics.rooms, partition: partition, offset: .exact(watermarks.low))])
        var first: Duration?
        var count = 0
        for try await record in consumer.records {
            if first == nil { first = clock.now - start }
            count += 1
            if record.offset >= watermarks.high - 1 { break }
        }
        let total = clock.now - start
        await consumer.close()
        return [
            "records": count, "firstRecordSeconds": seconds(first ?? total), "totalSeconds": seconds(total),
            "recordsPerSecond": Double(count) / seconds(total),
        ]
    }
}

extension HistoryBench {
    /// Where a compaction's time goes, without Kafka: decoding and folding records, writing them
    /// as a segment (SQLite, fsync, SHA-256), and merging four such segments.
    func timeSteps(records: Int) throws {
        let room = RoomName("big-room")!
        let values = (0..<records).map { index in
            RoomEvent(
                room: room, from: "user\(index % 97)", timestamp: Int64(index), kind: .message(cmid: "m\(index)", body: "message number \(index)")
            )
            .encoded()
        }
        let clock = ContinuousClock()
        var start = clock.now
        var decoded = 0
        for value in values where RoomEvent(decoding: value) != nil { decoded += 1 }
        let decode = clock.now - start
        start = clock.now
        var fold = SegmentFold(from: 0, span: 10_000, window: [])
        for (offset, value) in values.enumerated() { fold.apply(offset: Int64(offset), value: value) }
        let contents = fold.contents()
        let folding = clock.now - start
        let root = NSTemporaryDirectory() + "history-steps-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: root) }
        let epoch = LogEpoch(value: 1)
        func header(_ from: Int64, _ to: Int64, _ level: Int) -> SegmentFile.Header {
            SegmentFile.Header(topic: ChatTopics.rooms, epoch: epoch, partition: 0, from: from, to: to, duplicateSpan: 10_000, level: level)
        }
        start = clock.now
        _ = try SegmentFile.write(contents, header: header(0, Int64(records), 0), to: "\(root)/whole.sqlite")
        let write = clock.now - start
        // Four quarter segments merged into one: what each merge level costs per record.
        var quarters: [String] = []
        let quarter = records / 4
        var window: [WindowEntry] = []
        for part in 0..<4 {
            var partFold = SegmentFold(from: Int64(part * quarter), span: 10_000, window: window)
            for offset in (part * quarter)..<((part + 1) * quarter) { partFold.apply(offset: Int64(offset), value: values[offset]) }
            let partContents = partFold.contents()
            window = partContents.window
            let path = "\(root)/q\(part).sqlite"
            _ = try SegmentFile.write(partContents, header: header(partContents.from, partContents.to, 0), to: path)
            quarters.append(path)
        }
        start = clock.now
        _ = try SegmentFile.merge(inputs: quarters, header: header(0, Int64(4 * quarter), 1), to: "\(root)/merged.sqlite")
        let merge = clock.now - start
        let report: [String: Any] = [
            "records": records, "decoded": decoded,
            "decodeRecordsPerSecond": Double(records) / seconds(decode),
            "decodeAndFoldRecordsPerSecond": Double(records) / seconds(folding),
            "segmentWriteRecordsPerSecond": Double(records) / seconds(write),
            "mergeRecordsPerSecond": Double(4 * quarter) / seconds(merge),
        ]
        let data = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }
}

func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}
