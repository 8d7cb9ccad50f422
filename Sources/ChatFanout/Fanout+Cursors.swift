import ChatDomain
import Kafka

extension Fanout {
    /// Whether `cursor` (already known to be of this log's epoch and a room partition) names a
    /// point the room's log has reached (``ChatCursor/isWithin(end:)``).
    ///
    /// What this node has read answers most cursors; one beyond it is checked against the
    /// broker's log end, because a cursor from an acknowledgement or another node can be ahead of
    /// this node's fan-out. Nothing is assigned.
    ///
    /// - Throws: ``FanoutError/unavailable(_:)`` when the broker must be asked and cannot be reached.
    public func logReaches(_ cursor: ChatCursor) async throws -> Bool {
        if let state = partitions[cursor.partition], cursor.isWithin(end: state.end) { return true }
        return cursor.isWithin(end: try await brokerEnd(of: cursor.partition))
    }

    /// The partition's log end on the broker.
    func brokerEnd(of partition: Int32) async throws -> Int64 {
        do {
            return try await admin.watermarks(topic: configuration.roomsTopic, partition: partition, timeout: .seconds(5)).high
        } catch {
            throw FanoutError.unavailable("Kafka is not reachable: \(error)")
        }
    }
}
