import ChatDomain
import ChatFanout

extension ChatSession {
    /// Writes a membership change on the user's own authority, after ``Ingress`` checked it with
    /// ``MembershipRule`` against the fan-out's state; acknowledged once durable and read back
    /// (a change the log refused, in a race, gets the refusal). Joining the room is not needed:
    /// an owner manages a room without reading it.
    func writeMembership(id: RequestID?, room: RoomName, action: MembershipAction) async {
        guard identity.mayJoin(room) else { return reply(ProtocolError(id: id, .forbidden, "your token does not allow room \(room)")) }
        let event = RoomEvent(room: room, from: identity.userID, timestamp: WallClock.milliseconds(), kind: .membership(action))
        await inflight.acquire()
        // In order with the session's edits and deletes: an invite then a kick stay in that order.
        changes.submit {
            defer { self.inflight.release() }
            do throws(ProtocolError) {
                let cursor = try await self.acknowledgedMembership(event)
                self.reply(ServerFrame.ack(id: id, room: room, cursor: cursor, timestamp: event.timestamp))
            } catch {
                self.reply(self.withID(error, id))
            }
        }
    }

    /// `members`: the room's members and roles, for anyone who may read the room.
    func members(id: RequestID?, room: RoomName) async {
        let identity = identity
        await inflight.acquire()
        Task {
            defer { inflight.release() }
            do throws(ProtocolError) {
                let state = try await services.requireReadAccess(identity, to: room)
                reply(ServerFrame.members(id: id, room: room, state: state))
            } catch {
                reply(withID(error, id))
            }
        }
    }

    /// `dm`: the pair's one room (``DirectRoom``), created with both as members unless it exists.
    /// When the other user opens it at the same time, the log keeps the first `room.created` and
    /// refuses the second as `roomExists`: both get the same room.
    func openDirectRoom(id: RequestID?, with other: String) async {
        let me = identity.userID
        guard other != me else { return reply(ProtocolError(id: id, .badRequest, "a DM needs another user than yourself")) }
        let room = DirectRoom.name(me, other)
        await inflight.acquire()
        changes.submit {
            defer { self.inflight.release() }
            do throws(ProtocolError) {
                if try await self.services.roomState(room)?.createdAt == nil {
                    let create = MembershipAction.create(kind: .dm, title: nil, owner: nil, members: [me, other])
                    let event = RoomEvent(room: room, from: me, timestamp: WallClock.milliseconds(), kind: .membership(create))
                    do throws(ProtocolError) {
                        _ = try await self.acknowledgedMembership(event)
                    } catch  where error == ProtocolError(refusal: .roomExists, room: room) {
                        // Opened by the other user first: the same room.
                    }
                }
                self.reply(ServerFrame.dm(id: id, room: room))
            } catch {
                self.reply(self.withID(error, id))
            }
        }
    }

    /// Whether the user may still read a joined room (an operator may have made it private, or
    /// banned the user, after the join); replies with the refusal when not.
    func mayStillRead(_ room: RoomName, id: RequestID?) async -> Bool {
        do throws(ProtocolError) {
            try await services.requireReadAccess(identity, to: room)
            return true
        } catch {
            reply(withID(error, id))
            return false
        }
    }

    /// Refuses an op on a room the session has not joined: `not_member` (or `forbidden` when
    /// banned) when the user may not read the room at all, so a non-member learns that rather
    /// than to join first; else `not_joined` with `message`.
    func replyNotJoined(_ room: RoomName, id: RequestID?, _ message: String) async {
        guard await mayStillRead(room, id: id) else { return }
        reply(ProtocolError(id: id, .notJoined, message))
    }

    private func acknowledgedMembership(_ event: RoomEvent) async throws(ProtocolError) -> ChatCursor {
        let pending = try await services.ingress.enqueueMembership(event)
        let (position, _) = try await services.ingress.acknowledge(pending)
        return ChatCursor(epoch: services.epoch, partition: position.partition, offset: position.offset)
    }
}
