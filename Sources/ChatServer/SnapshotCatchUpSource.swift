import ChatDomain
import ChatFanout
import ChatHistory

/// The history snapshots as the fan-out's ``CatchUpSource``.
///
/// It lives here, in the composition root, so that neither module knows the other: the fan-out
/// (the hot path) does not link SQLite or know how snapshots are layered, and the snapshot store
/// does not depend on the fan-out.
public struct SnapshotCatchUpSource: CatchUpSource {
    public let store: SnapshotStore

    public init(store: SnapshotStore) {
        self.store = store
    }

    public func covers(partition: Int32, from: Int64, to: Int64) async -> Bool {
        await store.covers(partition: partition, from: from, to: to)
    }

    public func catchUp(room: RoomName, partition: Int32, after: Int64, low: Int64) async throws -> CatchUp {
        let catchUp = try await store.catchUp(room: room, partition: partition, after: after, low: low)
        return CatchUp(events: catchUp.events, logFrom: catchUp.logFrom, window: catchUp.window)
    }

    public func window(partition: Int32, at offset: Int64, span: Int64) async -> [WindowEntry]? {
        guard let layers = try? await store.layers(partition: partition) else { return nil }
        return try? await SnapshotIO.run { try layers.window(at: offset, span: span) }
    }

    public func membership(partition: Int32) async throws -> MembershipSeed? {
        guard let membership = try await store.membership(partition: partition) else { return nil }
        return MembershipSeed(events: membership.events, to: membership.to)
    }
}
