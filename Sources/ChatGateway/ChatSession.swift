import ChatDomain
import ChatFanout
import ChatPresence
import Foundation
import NIOCore
import NIOWebSocket

/// One client WebSocket session: the requests it runs in order, and the frames it is sent.
///
/// The connection itself is ``ChatSessionHandler``, in the channel pipeline; this object is what
/// the fan-out, presence and request handlers hold. Writes happen on the connection's event loop:
/// the fan-out calls ``write(_:)`` / ``flush()`` there, replies hop there once each.
final class ChatSession: RoomSubscriber, PresenceListener, Sendable {
    let authentication: SessionAuthentication
    let services: GatewayServices
    let inflight: InflightRequests
    /// Edits and deletes, applied in the order sent.
    let changes = SerialChanges()
    /// The client's IP address, as the per-address bound counts it.
    let clientAddress: String
    let eventLoop: any EventLoop
    private let work: SessionWork
    /// The connection, while it is open (cleared when it closes, so nothing keeps it alive).
    private let connection: NIOLoopBoundBox<ChatSessionHandler?>
    /// State of the requests: touched only by the one runner of ``work`` at a time.
    private let requestState: RequestState

    /// Rooms and typing throttles of the request runner.
    final class RequestState: @unchecked Sendable {
        // Only the runner of the session's work touches it, one runner at a time: the queue's
        // lock orders one runner's accesses before the next's.
        var joined = Set<RoomName>()
        var lastTyping: [RoomName: Double] = [:]
    }

    init(identity: ChatIdentity, services: GatewayServices, channel: any Channel) {
        self.authentication = SessionAuthentication(identity)
        self.services = services
        self.eventLoop = channel.eventLoop
        self.clientAddress = SessionRegistry.addressKey(channel)
        self.inflight = InflightRequests(limit: services.configuration.maxInFlightSendsPerSession)
        self.work = SessionWork(maxPending: Self.maxPendingRequests)
        self.connection = NIOLoopBoundBox(nil, eventLoop: channel.eventLoop)
        self.requestState = RequestState()
    }

    /// Requests read and not yet run before the connection stops being read.
    static let maxPendingRequests = 64

    var userID: String { identity.userID }
    /// The identity of the session's current token (`auth` may replace it).
    var identity: ChatIdentity { authentication.identity }

    // MARK: Frames out

    func write(_ frame: WireFrame) {
        connection.value?.write(frame)
    }

    func flush() {
        connection.value?.flush()
    }

    func cannotKeepUp() {
        connection.value?.closeAsTooSlow()
    }

    func removed(from room: RoomName) {
        submit(.removed(room))
    }

    /// Presence changes of the rooms the session joined.
    func deliver(_ frame: String) -> Bool {
        reply(frame)
        return true
    }

    func reply(_ frame: String) {
        send(WireFrame(json: frame))
    }

    func reply(_ error: ProtocolError) {
        reply(ServerFrame.error(error))
    }

    private func send(_ frame: WireFrame) {
        if eventLoop.inEventLoop {
            write(frame)
            flush()
        } else {
            eventLoop.execute {
                self.write(frame)
                self.flush()
            }
        }
    }

    // MARK: Lifecycle (called by the handler, on the event loop)

    /// Registers the session; the refusal when a bound refused it (the handler closes the connection).
    func open(on handler: ChatSessionHandler) -> String? {
        if let refusal = services.registry.add(self) { return refusal }
        connection.value = handler
        services.metrics.sessionOpened()
        submit(.opened)
        return nil
    }

    /// The connection closed: finish the requests read, then leave rooms and presence.
    func connectionClosed() {
        connection.value = nil
        submit(.ended)
    }

    /// Queues a request read from the client, in order.
    func received(_ frame: ClientFrame) {
        submit(.request(frame))
    }

    /// Stops reading requests; in-flight sends finish, then the session closes with the reason's code.
    func finish(_ reason: SessionCloseReason) {
        submit(.finish(reason))
    }

    /// Shutdown: close with 1001 once in-flight sends are acknowledged.
    func drain() {
        finish(.goingAway)
    }

    /// Too slow: the fan-out stops handing the session frames now rather than when it closes.
    func stoppedAsTooSlow() {
        submit(.finish(.tooSlow))
    }

    var acceptsRequests: Bool { work.isAccepting }

    private func submit(_ item: SessionWork.Item) {
        switch work.submit(item) {
        case .startRunner:
            Task { await self.runWork() }
        case .queuedPauseReading:
            eventLoop.execute { self.connection.value?.pauseReading() }
        case .queued, .dropped:
            break
        }
    }

    private func runWork() async {
        while true {
            let (item, resumeReading) = work.next()
            if resumeReading { eventLoop.execute { self.connection.value?.resumeReading() } }
            guard let item else { return }
            await perform(item)
        }
    }

    private func perform(_ item: SessionWork.Item) async {
        switch item {
        case .opened:
            await services.presence.sessionOpened(user: identity.userID, listener: self)
        case .request(let frame):
            await handle(frame, joined: &requestState.joined, lastTyping: &requestState.lastTyping)
        case .finish(.tooSlow):
            // The close frame is already on its way; only stop the deliveries.
            await services.fanout.leaveAll(subscriber: self)
        case .finish(let reason):
            await inflight.waitUntilEmpty(timeout: services.configuration.drainTimeout)
            eventLoop.execute { self.connection.value?.close(reason) }
        case .removed(let room):
            // The fan-out has already dropped the subscription and sent `left`.
            if requestState.joined.remove(room) != nil {
                await services.presence.left(user: identity.userID, room: room, listener: self)
            }
        case .ended:
            await inflight.waitUntilEmpty(timeout: services.configuration.drainTimeout)
            await services.fanout.leaveAll(subscriber: self)
            await services.presence.sessionClosed(user: identity.userID, listener: self)
            services.registry.remove(self)
            services.metrics.sessionClosed()
        }
    }
}
