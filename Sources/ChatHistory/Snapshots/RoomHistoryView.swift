import ChatDomain

/// A room's history assembled from layers in offset order (snapshot segments, then the folded log
/// tail): each layer's messages with the pending amendments of the later layers applied.
///
/// The amendments still pending are few (a merge decides those whose target it covers), so they
/// are all loaded up front; messages are read lazily, newest first for pages or oldest first for
/// replays. Every method blocks: call it from ``SnapshotIO``.
public struct RoomHistoryView: Sendable {
    public let room: RoomName
    public let layers: [any RoomLayer]
    /// Pending amendments by target offset, offset order.
    private let pending: [Int64: [SnapshotAmendment]]

    public init(room: RoomName, layers: [any RoomLayer]) throws {
        self.room = room
        self.layers = layers
        var pending: [Int64: [SnapshotAmendment]] = [:]
        for layer in layers {
            for amendment in try layer.amendments(after: -1, pendingOnly: true) {
                guard let target = amendment.targetOffset else { continue }
                pending[target, default: []].append(amendment)
            }
        }
        self.pending = pending
    }

    /// A stored message with the later layers' amendments applied; `nil` when one deleted it.
    public func resolve(_ message: ChatMessage) -> ChatMessage? {
        guard let amendments = pending[message.offset] else { return message }
        return amendments.decided(of: message).message
    }

    /// Whether any layer holds an event of the room.
    public var isKnownRoom: Bool {
        get throws { try layers.contains { try $0.mentionsRoom } }
    }

    /// The newest `limit` visible messages before `before` (all when `nil`), oldest first;
    /// `more` tells whether older visible messages exist.
    public func page(before: Int64?, limit: Int) throws -> HistoryPage {
        let upper = before ?? Int64.max
        var newestFirst: [ChatMessage] = []
        let batch = max(limit * 2, 64)
        layers: for layer in layers.reversed() where layer.from < upper {
            var cursor = upper
            while true {
                let stored = try layer.messages(before: cursor, limit: batch)
                for message in stored {
                    guard let visible = resolve(message) else { continue }
                    newestFirst.append(visible)
                    if newestFirst.count > limit { break layers }
                }
                guard stored.count == batch, let last = stored.last else { break }
                cursor = last.offset
            }
        }
        return HistoryPage(messages: Array(newestFirst.prefix(limit).reversed()), more: newestFirst.count > limit)
    }

    /// Calls `body` with the visible messages posted after `after` (and at or before `until`), oldest
    /// first, in batches; `body` returns false to stop.
    public func forEachMessage(after: Int64 = -1, until: Int64 = .max, batch: Int = 2000, _ body: ([ChatMessage]) throws -> Bool) throws {
        for layer in layers where layer.to > after + 1 && layer.from <= until {
            var cursor = after
            while true {
                let stored = try layer.messages(after: cursor, limit: batch)
                let visible = stored.lazy.filter { $0.offset <= until }.compactMap(resolve)
                if !visible.isEmpty, try !body(Array(visible)) { return }
                guard stored.count == batch, let last = stored.last, last.offset < until else { break }
                cursor = last.offset
            }
        }
    }

    /// The events a subscriber resuming after `after` gets from these layers, offset order: each
    /// visible message posted after it (edits folded in), and the edits and deletes after it of
    /// messages at or before it that applied.
    public func events(after: Int64, partition: Int32) throws -> [LoggedRoomEvent] {
        var events: [LoggedRoomEvent] = []
        try forEachMessage(after: after) { messages in
            for message in messages {
                let event = RoomEvent(
                    room: room, from: message.from, timestamp: message.timestamp, kind: .message(cmid: message.cmid, body: message.body))
                events.append(LoggedRoomEvent(event: event, partition: partition, offset: message.offset))
            }
            return true
        }
        var amendments: [SnapshotAmendment] = []
        var undecided: [Int64: [SnapshotAmendment]] = [:]
        for layer in layers where layer.to > after + 1 {
            for amendment in try layer.amendments(after: after, pendingOnly: false) {
                guard let target = amendment.targetOffset, target <= after else { continue }
                if amendment.pending {
                    undecided[target, default: []].append(amendment)
                } else {
                    amendments.append(amendment)
                }
            }
        }
        for (target, _) in undecided {
            // Whether a pending amendment applied depends on its target and every earlier amendment of it.
            let stored = try layers.last { $0.from <= target && target < $0.to }?.message(at: target)
            amendments += (pending[target] ?? []).decided(of: stored).applied.filter { $0.offset > after }
        }
        events += amendments.map { $0.loggedEvent(room: room, partition: partition) }
        return events.sorted { $0.offset < $1.offset }
    }
}
