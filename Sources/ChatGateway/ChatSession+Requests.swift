import ChatDomain
import ChatFanout
import Foundation

extension ChatSession {
    /// Handles one request. Called in the order requests arrive; work that waits for Kafka
    /// (acknowledgements, history reads) continues in tracked tasks so reading goes on.
    func handle(_ frame: ClientFrame, joined: inout Set<RoomName>, lastTyping: inout [RoomName: Double]) async {
        let id = frame.id
        switch frame.request {
        case .ping:
            reply(ServerFrame.pong(id: id))

        case .auth(let token):
            await authenticate(id: id, token: token)

        case .join(let room, let since):
            do throws(ProtocolError) {
                try await services.requireReadAccess(identity, to: room)
            } catch {
                return reply(withID(error, id))
            }
            let maxRooms = services.configuration.maxRoomsPerSession
            guard joined.count < maxRooms || joined.contains(room) else {
                return reply(ProtocolError(id: id, .limit, "rooms per session limit reached: at most \(maxRooms) joined at once; leave one first"))
            }
            do {
                let unread = try await unreadCount(room)
                _ = try await services.fanout.join(room: room, subscriber: self, since: since) { outcome in
                    ServerFrame.joined(id: id, room: room, cursor: outcome.cursor, recovered: outcome.recovered, unread: unread)
                }
                joined.insert(room)
                await services.presence.joined(user: identity.userID, room: room, listener: self)
            } catch FanoutError.cursorBeyondEnd {
                reply(ProtocolError(id: id, .badRequest, "the since cursor is beyond the room's end"))
            } catch {
                reply(ProtocolError(id: id, .unavailable, "cannot join \(room) now: Kafka is not reachable; retry later"))
            }

        case .leave(let room):
            guard joined.remove(room) != nil else { return reply(ProtocolError(id: id, .notJoined, "you have not joined \(room)")) }
            await services.fanout.leave(room: room, subscriber: self)
            await services.presence.left(user: identity.userID, room: room, listener: self)
            reply(ServerFrame.left(id: id, room: room))

        case .send(let room, let cmid, let body):
            guard joined.contains(room) else { return await replyNotJoined(room, id: id, "join \(room) before sending to it") }
            services.metrics.messagesIn.increment()
            await inflight.acquire()
            let pending: Ingress.PendingPost
            do {
                pending = try await services.ingress.enqueuePost(room: room, user: identity.userID, cmid: cmid, body: body)
            } catch {
                inflight.release()
                return reply(withID(error, id))
            }
            // Answered from the delivery report and the fan-out's read, not from a task per send.
            services.ingress.acknowledge(pending, room: room, user: identity.userID, cmid: cmid) { result in
                defer { self.inflight.release() }
                switch result {
                case .success(let post):
                    self.reply(ServerFrame.ack(id: id, room: room, cmid: cmid, msgId: post.msgId, cursor: post.cursor, timestamp: post.timestamp))
                case .failure(let error):
                    self.reply(self.withID(error, id))
                }
            }

        case .edit(let room, let msgId, let body):
            guard joined.contains(room) else { return await replyNotJoined(room, id: id, "join \(room) before editing in it") }
            await change(id: id, room: room, msgId: msgId, kind: .edit(msgId: msgId, body: body))

        case .delete(let room, let msgId):
            guard joined.contains(room) else { return await replyNotJoined(room, id: id, "join \(room) before deleting in it") }
            await change(id: id, room: room, msgId: msgId, kind: .delete(msgId: msgId))

        case .history(let room, let before, let limit):
            await inflight.acquire()
            let identity = identity
            Task {
                defer { inflight.release() }
                do throws(ProtocolError) {
                    try await services.requireReadAccess(identity, to: room)
                    let page = try await services.historyPage(room: room, before: before, limit: limit)
                    reply(services.historyFrame(id: id, room: room, page: page))
                } catch {
                    reply(withID(error, id))
                }
            }

        case .presence(let room):
            guard joined.contains(room) else { return await replyNotJoined(room, id: id, "join \(room) before asking who is in it") }
            guard await mayStillRead(room, id: id) else { return }
            let online = await services.presence.online(in: room)
            var writer = JSONWriter()
            writer.add("op", "presence")
            writer.add("id", id)
            writer.add("room", room.value)
            writer.add("online", strings: online)
            reply(writer.finish())

        case .typing(let room):
            guard joined.contains(room) else { return await replyNotJoined(room, id: id, "join \(room) before typing in it") }
            let now = ProcessInfo.processInfo.systemUptime
            let interval =
                Double(services.configuration.typingInterval.components.seconds)
                + Double(services.configuration.typingInterval.components.attoseconds) / 1e18
            if let last = lastTyping[room], now - last < interval { return }
            guard await mayStillRead(room, id: id) else { return }
            lastTyping[room] = now
            do throws(ProtocolError) {
                try services.ingress.signal(RoomSignal(room: room, user: identity.userID, timestamp: WallClock.milliseconds(), kind: .typing))
            } catch {
                reply(withID(error, id))
            }

        case .read(let room, let cursor):
            guard joined.contains(room) else { return await replyNotJoined(room, id: id, "join \(room) before marking it read") }
            guard cursor.epoch == services.epoch, cursor.partition == services.partitioner.partition(for: room) else {
                return reply(ProtocolError(id: id, .badRequest, "the cursor is not from this room's log (another epoch or room)"))
            }
            guard await mayStillRead(room, id: id) else { return }
            do {
                // A stored position beyond the end would hide every later message from the
                // user's unread count, on every node, for good.
                guard try await services.fanout.logReaches(cursor) else {
                    return reply(ProtocolError(id: id, .badRequest, "the cursor is beyond the room's end"))
                }
                try await services.readPositions.store(cursor, user: identity.userID, room: room)
                if services.configuration.broadcastReadPositions {
                    try services.ingress.signal(
                        RoomSignal(room: room, user: identity.userID, timestamp: WallClock.milliseconds(), kind: .read(cursor: cursor)))
                }
            } catch {
                reply(ProtocolError(id: id, .unavailable, "the read position could not be stored; retry later"))
            }

        case .create(let room, let kind, let title):
            await writeMembership(id: id, room: room, action: .create(kind: kind, title: title, owner: identity.userID, members: []))

        case .membership(let room, let action):
            await writeMembership(id: id, room: room, action: action)

        case .members(let room):
            await members(id: id, room: room)

        case .dm(let user):
            await openDirectRoom(id: id, with: user)
        }
    }

    private func change(id: RequestID?, room: RoomName, msgId: String, kind: RoomEvent.Kind) async {
        let user = identity.userID
        await inflight.acquire()
        changes.submit {
            defer { self.inflight.release() }
            do throws(ProtocolError) {
                let pending = try await self.services.ingress.enqueueChange(room: room, user: user, msgId: msgId, kind: kind)
                let (position, timestamp) = try await self.services.ingress.acknowledge(pending)
                let cursor = ChatCursor(epoch: self.services.epoch, partition: position.partition, offset: position.offset)
                self.reply(ServerFrame.ack(id: id, room: room, cmid: nil, msgId: msgId, cursor: cursor, timestamp: timestamp))
            } catch {
                self.reply(self.withID(error, id))
            }
        }
    }

    /// Messages after the user's stored read position in `room`, or `nil` without one.
    private func unreadCount(_ room: RoomName) async throws -> Int? {
        guard let read = await services.readPositions.position(user: identity.userID, room: room),
            read.epoch == services.epoch, read.partition == services.partitioner.partition(for: room)
        else { return nil }
        return try await services.fanout.unreadCount(room: room, after: read.offset, cap: services.configuration.unreadCap)
    }

    func withID(_ error: ProtocolError, _ id: RequestID?) -> ProtocolError {
        var error = error
        error.id = id
        return error
    }
}
