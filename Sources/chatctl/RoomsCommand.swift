import ArgumentParser
import ChatDomain
import ChatHistory
import Foundation
import Kafka

/// `chatctl rooms show|members`: a room's membership folded from the history snapshots plus the log.
struct RoomsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rooms",
        abstract: "Show a room's kind, members, roles, bans and mutes from the history snapshots plus the log.",
        discussion: """
            The state is folded by the same rule every node applies, from every membership event the snapshots kept
            and the log after them, so a room whose creation left retention long ago still shows its members.
            Bans and mutes are listed while they last (judged by this machine's clock).
            Exit codes: 0 done, 1 other failure, 64 bad arguments, 3 the room was never created nor moderated,
            4 the cluster did not answer in time, 5 a snapshot is corrupt and the log no longer holds its range.
            """,
        subcommands: [RoomsShowCommand.self, RoomsMembersCommand.self])
}

/// Output formats of `chatctl rooms`.
enum RoomsFormat: String, ExpressibleByArgument, CaseIterable {
    case text
    case json
}

/// Options of both `rooms` subcommands.
struct RoomsOptions: ParsableArguments {
    @Option(help: "The room.")
    var room: String

    @Option(help: "Output format: text or json.")
    var format: RoomsFormat = .text

    @Option(help: "Room partition count rooms are hashed over [CHAT_ROOM_PARTITIONS, default: partitions of chat.rooms].")
    var roomPartitions: Int32?

    @OptionGroup var history: HistoryCommandOptions

    func validate() throws {
        guard RoomName(room) != nil else { throw ValidationError("--room must be 1..128 characters of [A-Za-z0-9._-], got \(room)") }
    }

    /// The room's membership, or a ``CommandFailure`` that says what to do next.
    func load(command: String) async throws -> (RoomMembership, partition: Int32) {
        let room = RoomName(room)!
        let kafka = try history.kafkaConfiguration()
        let logger = quietLogger("chatctl.rooms")
        let admin = try KafkaAdmin(configuration: kafka, logger: logger)
        defer { Task { await admin.close() } }
        let epoch = try await history.connect(admin, brokers: kafka.bootstrapServers)
        let timeout = Duration.seconds(Int64(history.timeout))
        guard let topicPartitions = try await admin.partitionCount(topic: ChatTopics.rooms, timeout: timeout) else {
            throw CommandFailure.failed("topic \(ChatTopics.rooms) does not exist on \(kafka.bootstrapServers): check --brokers")
        }
        let pinned = roomPartitions ?? ProcessInfo.processInfo.environment["CHAT_ROOM_PARTITIONS"].flatMap(Int32.init)
        let partitioner = RoomPartitioner(partitionCount: pinned ?? Int32(topicPartitions))
        let partition = partitioner.partition(for: room)
        let watermarks = try await admin.watermarks(topic: ChatTopics.rooms, partition: partition, timeout: timeout)
        let reader = PartitionRangeReader(configuration: kafka, topic: ChatTopics.rooms, logger: logger)
        let snapshots = SnapshotHistory(
            store: SnapshotStore(directory: SnapshotDirectory(root: history.snapshotRoot, epoch: epoch)),
            log: LogHistory(reader: reader, admin: admin, partitioner: partitioner, duplicateSpan: history.duplicateSpan), logger: logger)
        let membership = try await snapshots.membership(room: room, partition: partition, watermarks: watermarks)
        if let lost = membership.lost {
            let source = membership.snapshotEnd == nil ? "no snapshots in \(history.snapshotRoot) and the log" : "the snapshots end and the log"
            printError(
                "chatctl rooms \(command): warning: \(source) starts at offset \(lost.upperBound) of \(ChatTopics.rooms)[\(partition)]: "
                    + "membership changes in offsets \(lost.lowerBound)..<\(lost.upperBound) are unknown (retention deleted them before "
                    + "the compactor folded them; point --snapshots at the compactor's directory, keep the compactor within retention)")
        }
        guard membership.state != nil else {
            let kind =
                room.value.hasPrefix(MembershipRule.directPrefix)
                ? "a direct-message name nobody opened: nobody may read or post there until {\"op\":\"dm\"} opens it"
                : "public: every user the token allows may join; create it with {\"op\":\"create\"} or POST /v1/rooms to give it members"
            throw CommandFailure.unknownRoom(
                "room \(room) was never created nor moderated in the snapshots (\(history.snapshotRoot)) or the log of \(ChatTopics.rooms)[\(partition)]: it is \(kind); check the name"
            )
        }
        return (membership, partition)
    }

    func run(_ command: String, _ body: (RoomMembership, Int32) -> Void) async throws {
        do {
            let (membership, partition) = try await load(command: command)
            body(membership, partition)
        } catch let error as ValidationError {
            throw error
        } catch {
            let failure = CommandFailure.from(error)
            printError("chatctl rooms \(command): \(failure)")
            throw ExitCode(failure.exitCode)
        }
    }
}

/// `chatctl rooms show --room R`.
struct RoomsShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Print the room's kind, title, creation, members with roles, bans, mutes and membership changes.")

    @OptionGroup var options: RoomsOptions

    func run() async throws {
        try await options.run("show") { membership, partition in
            RoomsPrinter(format: options.format, now: WallClock.milliseconds()).show(membership, partition: partition)
        }
    }
}

/// `chatctl rooms members --room R`.
struct RoomsMembersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "members", abstract: "Print the room's members with their roles, owners first.")

    @OptionGroup var options: RoomsOptions

    func run() async throws {
        try await options.run("members") { membership, partition in
            RoomsPrinter(format: options.format, now: WallClock.milliseconds()).members(membership, partition: partition)
        }
    }
}
