import ChatDomain
import NIOCore

/// The frames one consumed batch owes to subscribers, grouped by the subscribers' event loops, so
/// that handing them over costs one hop per loop rather than one per delivery.
///
/// Within a loop, frames keep the order they were added in: per subscriber that is offset order.
struct DeliveryBatch {
    private struct LoopDeliveries {
        let loop: any EventLoop
        var writes: [(subscriber: any RoomSubscriber, frame: WireFrame)] = []
        var removals: [(subscriber: any RoomSubscriber, room: RoomName)] = []
    }

    private var loops: [ObjectIdentifier: LoopDeliveries] = [:]
    /// Deliveries added, for the metrics.
    private(set) var count = 0

    mutating func add(_ frame: WireFrame, to subscriber: any RoomSubscriber) {
        let loop = subscriber.eventLoop
        let key = ObjectIdentifier(loop)
        if loops[key] == nil { loops[key] = LoopDeliveries(loop: loop) }
        loops[key]!.writes.append((subscriber, frame))
        count += 1
    }

    /// Tells `subscriber`, after this batch's writes, that the fan-out ended its subscription to
    /// `room` (its user was removed from the room).
    mutating func notify(_ subscriber: any RoomSubscriber, removedFrom room: RoomName) {
        let loop = subscriber.eventLoop
        let key = ObjectIdentifier(loop)
        if loops[key] == nil { loops[key] = LoopDeliveries(loop: loop) }
        loops[key]!.removals.append((subscriber, room))
    }

    var isEmpty: Bool { count == 0 }

    /// Hands every loop its writes; each subscriber is flushed once, after its last write.
    consuming func dispatch() {
        for deliveries in loops.values {
            let (writes, removals) = (deliveries.writes, deliveries.removals)
            deliveries.loop.execute {
                for write in writes { write.subscriber.write(write.frame) }
                // A subscriber's flush is a no-op once it has flushed: one real flush each.
                for write in writes { write.subscriber.flush() }
                for removal in removals { removal.subscriber.removed(from: removal.room) }
            }
        }
    }
}
