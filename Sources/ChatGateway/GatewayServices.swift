import ChatDomain
import ChatFanout
import ChatHistory
import ChatPresence
import Logging

/// What sessions and HTTP routes of a node share.
struct GatewayServices: Sendable {
    let configuration: GatewayConfiguration
    let fanout: Fanout
    let presence: PresenceService
    let readPositions: ReadPositions
    let ingress: Ingress
    let history: LogHistory
    /// Snapshots plus the log tail, when the node has a snapshot directory.
    let snapshotHistory: SnapshotHistory?
    let authority: TokenAuthority
    let metrics: GatewayMetrics
    let registry: SessionRegistry
    /// Pings, dead-client checks and token expiry: one timer per event loop.
    let keepAlive: KeepAliveTimers
    let parser: ClientFrameParser
    /// Bounds the history reads and join catch-ups running and waiting on the node.
    let reads: ConcurrencyLimiter
    let epoch: LogEpoch
    let partitioner: RoomPartitioner
    let logger: Logger

    /// A history page: from the fan-out cache when it holds enough, else from the log; `limit`
    /// when the node's line of reads is full.
    func historyPage(room: RoomName, before: ChatCursor?, limit: Int) async throws(ProtocolError) -> HistoryPage {
        guard await reads.acquire() else {
            throw ProtocolError(
                .limit,
                "concurrent reads limit reached: \(reads.maxRunning) history reads running and \(reads.maxWaiting) waiting on this node; retry later")
        }
        defer { reads.release() }
        return try await readHistoryPage(room: room, before: before, limit: limit)
    }

    private func readHistoryPage(room: RoomName, before: ChatCursor?, limit: Int) async throws(ProtocolError) -> HistoryPage {
        var beforeOffset: Int64?
        if let before {
            guard before.epoch == epoch, before.partition == partitioner.partition(for: room) else {
                throw ProtocolError(.badRequest, "the before cursor is not from this room's log (another epoch or room)")
            }
            let reached: Bool
            do {
                reached = try await fanout.logReaches(before)
            } catch {
                throw ProtocolError(.unavailable, "could not read the history of \(room) from Kafka; retry later")
            }
            guard reached else { throw ProtocolError(.badRequest, "the before cursor is beyond the room's end") }
            beforeOffset = before.offset
        }
        if let cached = await fanout.cachedHistory(room: room, before: beforeOffset, limit: limit) {
            // The cache cannot know of messages that only snapshots still hold.
            guard !cached.more, let snapshotHistory, await snapshotHistory.hasSnapshots(room: room) else { return cached }
        }
        do {
            if let snapshotHistory { return try await snapshotHistory.page(room: room, before: beforeOffset, limit: limit) }
            return try await history.page(room: room, before: beforeOffset, limit: limit)
        } catch let error as HistoryScanLimitExceeded {
            throw ProtocolError(
                .badRequest,
                "this node reads history only \(error.scanLimit) records back from the end of \(room)'s partition without snapshots; no older page")
        } catch let error as SnapshotError {
            logger.error("history snapshots cannot be read", metadata: ["room": "\(room)", "error": "\(error)"])
            throw ProtocolError(.internal, "the history of \(room) cannot be read: its snapshots are damaged; the operator was told")
        } catch {
            throw ProtocolError(.unavailable, "could not read the history of \(room) from Kafka; retry later")
        }
    }

    func historyFrame(id: RequestID?, room: RoomName, page: HistoryPage) -> String {
        ServerFrame.history(id: id, room: room, messages: page.messages, epoch: epoch, partition: partitioner.partition(for: room), more: page.more)
    }
}
