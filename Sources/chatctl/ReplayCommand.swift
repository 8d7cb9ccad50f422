import ArgumentParser
import ChatDomain
import ChatHistory
import Foundation
import Kafka
import Logging

/// `chatctl replay`: a room's history from snapshots plus the log, the way `history` shows it.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Print a room's history in order from the history snapshots plus the log.",
        discussion: """
            Default output: one line per visible message, oldest first, edits applied, deleted messages absent.
            --events prints the event stream instead: from snapshots the compacted events (each surviving message
            with its current body, and the edits and deletes they record), from the log every event as written.
            Exit codes: 0 done, 1 other failure, 64 bad arguments, 3 the room has no events,
            4 the cluster did not answer in time, 5 a snapshot is corrupt and the log no longer holds its range.
            """)

    @Option(help: "The room.")
    var room: String

    @Option(help: "Only messages after this cursor or ISO-8601 time.")
    var since: String?

    @Option(help: "Only messages at or before this cursor or ISO-8601 time.")
    var until: String?

    @Flag(help: "After the history, keep printing the room's new events until interrupted.")
    var follow = false

    @Option(help: "Output format: text, json or jsonl.")
    var format: ReplayFormat = .text

    @Flag(help: "Print the event stream instead of the folded history.")
    var events = false

    @Option(help: "Room partition count rooms are hashed over [CHAT_ROOM_PARTITIONS, default: partitions of chat.rooms].")
    var roomPartitions: Int32?

    @OptionGroup var options: HistoryCommandOptions

    func validate() throws {
        guard RoomName(room) != nil else { throw ValidationError("--room must be 1..128 characters of [A-Za-z0-9._-], got \(room)") }
        if follow, format == .json { throw ValidationError("--follow prints a stream: use --format text or jsonl") }
    }

    func run() async throws {
        do {
            try await replay()
        } catch let error as ValidationError {
            throw error
        } catch {
            let failure = CommandFailure.from(error)
            printError("chatctl replay: \(failure)")
            throw ExitCode(failure.exitCode)
        }
    }

    private func replay() async throws {
        let room = RoomName(room)!
        let kafka = try options.kafkaConfiguration()
        let logger = quietLogger("chatctl.replay")
        let admin = try KafkaAdmin(configuration: kafka, logger: logger)
        defer { Task { await admin.close() } }
        let epoch = try await options.connect(admin, brokers: kafka.bootstrapServers)
        let timeout = Duration.seconds(Int64(options.timeout))
        guard let topicPartitions = try await admin.partitionCount(topic: ChatTopics.rooms, timeout: timeout) else {
            throw CommandFailure.failed("topic \(ChatTopics.rooms) does not exist on \(kafka.bootstrapServers)")
        }
        let pinned = roomPartitions ?? ProcessInfo.processInfo.environment["CHAT_ROOM_PARTITIONS"].flatMap(Int32.init)
        let partitioner = RoomPartitioner(partitionCount: pinned ?? Int32(topicPartitions))
        let partition = partitioner.partition(for: room)
        let range = ReplayRange(
            since: try since.map { try ReplayBound.parse($0, option: "--since", epoch: epoch, partition: partition) },
            until: try until.map { try ReplayBound.parse($0, option: "--until", epoch: epoch, partition: partition) })
        let watermarks = try await admin.watermarks(topic: ChatTopics.rooms, partition: partition, timeout: timeout)

        let started = ContinuousClock.now
        let reader = PartitionRangeReader(configuration: kafka, topic: ChatTopics.rooms, logger: logger)
        let history = SnapshotHistory(
            store: SnapshotStore(directory: SnapshotDirectory(root: options.snapshotRoot, epoch: epoch)),
            log: LogHistory(reader: reader, admin: admin, partitioner: partitioner, duplicateSpan: options.duplicateSpan),
            logger: logger)
        if watermarks.high - watermarks.low > 100_000 {
            printError("replay: reading \(room) from partition \(partition) (log offsets \(watermarks.low)..<\(watermarks.high))")
        }
        let (view, tailFrom) = try await buildView(history: history, room: room, partition: partition, watermarks: watermarks)
        guard try await SnapshotIO.run({ try view.isKnownRoom }) else {
            throw CommandFailure.unknownRoom(
                "room \(room) has no events in the snapshots (\(options.snapshotRoot)) or in the log of \(ChatTopics.rooms)[\(partition)]; check the name"
            )
        }
        let printer = ReplayPrinter(format: format, room: room, epoch: epoch, partition: partition)
        if events {
            try await printEvents(
                printer, view: view, tailFrom: tailFrom, history: history, room: room, partition: partition, watermarks: watermarks, range: range)
        } else {
            try await printMessages(printer, view: view, range: range, started: started)
        }
        if follow {
            printer.flush()
            try await followLive(printer, view: view, kafka: kafka, room: room, partition: partition, from: watermarks.high, logger: logger)
        }
    }

    /// Snapshots plus the log tail; the log alone when the partition has no snapshots.
    private func buildView(history: SnapshotHistory, room: RoomName, partition: Int32, watermarks: KafkaWatermarks) async throws
        -> (RoomHistoryView, tailFrom: Int64)
    {
        if let layers = try await history.store.layers(partition: partition), let failure = layers.failure,
            let invalid = layers.firstInvalid, watermarks.low <= invalid.from
        {
            printError("replay: warning: \(failure)\nreplay: reading offsets from \(invalid.from) from the log instead")
        }
        if let view = try await history.view(room: room, partition: partition, watermarks: watermarks) {
            return (view, view.layers.last?.from ?? watermarks.low)
        }
        let tail = try await history.foldTail(
            room: room, partition: partition, from: watermarks.low, to: watermarks.high, low: watermarks.low, window: [])
        let view = try await SnapshotIO.run { try RoomHistoryView(room: room, layers: [MemoryRoomLayer(contents: tail, room: room.value)]) }
        return (view, watermarks.low)
    }

    private func printMessages(_ printer: ReplayPrinter, view: RoomHistoryView, range: ReplayRange, started: ContinuousClock.Instant) async throws {
        let progress = ReplayProgress()
        printer.begin("messages")
        try await SnapshotIO.run {
            try view.forEachMessage(after: range.afterOffset, until: range.untilOffset) { messages in
                for message in messages where range.contains(offset: message.offset, timestamp: message.timestamp) {
                    printer.message(message)
                }
                progress.report(printer.printed)
                return true
            }
        }
        printer.end()
        progress.finish(printer.printed, started: started)
    }

    private func printEvents(
        _ printer: ReplayPrinter, view: RoomHistoryView, tailFrom: Int64, history: SnapshotHistory, room: RoomName,
        partition: Int32, watermarks: KafkaWatermarks, range: ReplayRange
    ) async throws {
        printer.begin("events")
        let snapshotLayers = Array(view.layers.dropLast())
        let compacted = try await SnapshotIO.run {
            try RoomHistoryView(room: room, layers: snapshotLayers).events(after: range.afterOffset, partition: partition)
        }
        for event in compacted where range.contains(offset: event.offset, timestamp: event.event.timestamp) {
            printer.event(event, source: "snapshot")
        }
        let (window, states) = try await SnapshotIO.run { () -> ([WindowEntry], [RoomName: RoomState]) in
            let states = MembershipJournal(partition: partition, events: try Self.membershipEvents(of: snapshotLayers)).current
            guard let last = snapshotLayers.last as? SegmentRoomLayer else { return ([], states) }
            return (try last.reader.window(), states)
        }
        let start = max(tailFrom, watermarks.low)
        var fold = PartitionLogFold(
            partition: partition, from: start, span: options.duplicateSpan, window: window, roomStates: states, rooms: .only(room))
        var tail: [FoldedEvent] = []
        for try await record in history.log.reader.records(partition: partition, from: start, to: watermarks.high) {
            if let folded = fold.apply(offset: record.offset, value: record.value) { tail.append(folded) }
        }
        for folded in tail where range.contains(offset: folded.logged.offset, timestamp: folded.logged.event.timestamp) {
            printer.event(folded.logged, source: "log", duplicate: folded.duplicateOf != nil)
        }
        printer.end()
    }

    /// Prints the room's new events as they arrive, until the process is interrupted.
    private func followLive(
        _ printer: ReplayPrinter, view: RoomHistoryView, kafka: KafkaConfiguration, room: RoomName, partition: Int32,
        from offset: Int64, logger: Logger
    ) async throws {
        let (window, states) = try await SnapshotIO.run { () -> ([WindowEntry], [RoomName: RoomState]) in
            guard let tail = view.layers.last as? MemoryRoomLayer else { return ([], [:]) }
            let events = try Self.membershipEvents(of: view.layers.dropLast()) + tail.contents.membershipEvents
            return (tail.contents.window, MembershipJournal(partition: partition, events: events).current)
        }
        // Duplicate verdicts only: following runs until interrupted, so no message is kept.
        var fold = PartitionLogFold(
            partition: partition, from: offset, span: options.duplicateSpan, window: window, roomStates: states, rooms: .only(room))
        let consumer = try KafkaConsumer(configuration: kafka, bufferCapacity: 1000, logger: logger)
        try await consumer.assign([KafkaTopicPartition(topic: ChatTopics.rooms, partition: partition, offset: .exact(offset))])
        for try await record in consumer.records {
            guard let folded = fold.apply(offset: record.offset, value: record.value), folded.duplicateOf == nil else { continue }
            if case .posted(let message) = folded.change, !events {
                printer.message(message)
            } else {
                printer.event(folded.logged, source: "log")
            }
            printer.flush()
        }
    }
}

extension ReplayCommand {
    /// The membership events the snapshot layers hold, offset order: what a fold of the log after
    /// them is seeded with. Blocks (SQLite).
    static func membershipEvents(of layers: some Sequence<any RoomLayer>) throws -> [LoggedRoomEvent] {
        try layers.compactMap { ($0 as? SegmentRoomLayer)?.reader }.flatMap { try $0.membershipEvents() }
    }
}

/// Progress of a long replay on stderr.
final class ReplayProgress: @unchecked Sendable {
    private var lastReport = ContinuousClock.now
    private var reported = false

    func report(_ printed: Int) {
        let now = ContinuousClock.now
        guard now - lastReport >= .seconds(2) else { return }
        lastReport = now
        reported = true
        printError("replay: \(printed) messages printed")
    }

    func finish(_ printed: Int, started: ContinuousClock.Instant) {
        guard reported else { return }
        printError("replay: \(printed) messages in \(ContinuousClock.now - started)")
    }
}
