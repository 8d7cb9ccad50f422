// The chat client: rooms, the protocol requests and events, resume after reconnects and
// reloads, and the optional features (typing, presence, read positions) that an older server
// refuses with `bad_request`.
//
// Events dispatched for the view: `change` (detail: { room, prepend }; `willchange` comes
// first, so the view can keep its scroll position), `rooms` (the room list, unread counts or
// the current room changed), `typing`, `presence`, `members` (detail: room; its kind, members
// or removal changed), `notice` (detail: text), `state` (connection state), `unauthorized`
// (detail: reason).
//
// Rooms and members: `create`, `dm` and the moderation ops are requests whose errors come back
// as text for the view; a `member` event refreshes the room's member list, and one about us
// that removes us (kick, ban), followed by `left`, ends the room until the user joins again.

import { Connection, OfflineError } from './connection.js';
import { Room } from './room.js';
import { utf8Length } from './util.js';

const historyPage = 50;
const maxBodyBytes = 4096;
const typingEvery = 3000;
const typingShownFor = 6000;
const readEvery = 1000;
const quietAfter = 5000;
const membersAfter = 200;
const moderationOps = new Set(['invite', 'kick', 'ban', 'unban', 'mute', 'role']);

/** The text shown for a refused request about `room` (not_member and forbidden say what to do). */
export function explain(error, room) {
  if (error instanceof OfflineError) return 'Not connected: try again once connected.';
  const where = room ? (typeof room === 'string' ? `#${room}` : room.label) : 'this room';
  if (error?.code === 'not_member') return `You are not a member of ${where}: ask an owner or moderator to invite you.`;
  if (error?.code === 'forbidden') return `Not allowed in ${where}: ${error.message}`;
  return error?.message ?? String(error);
}

export class Chat extends EventTarget {
  #saveTimer = null;
  #lastTyping = 0;
  #stopped = false;

  constructor(credentials) {
    super();
    this.credentials = credentials;
    this.me = credentials.user;
    /** name -> Room, in the order joined. */
    this.rooms = new Map();
    this.current = null;
    /** Optional features: assumed until the server refuses them (checked again on each connection). */
    this.features = { typing: true, presence: true, read: true, members: true };
    this.connection = new Connection(credentials);
    this.connection.addEventListener('open', () => this.#connected());
    this.connection.addEventListener('state', (event) => this.#stateChanged(event.detail));
    this.connection.addEventListener('frame', (event) => this.#event(event.detail));
    this.connection.addEventListener('unauthorized', (event) => {
      this.#stopped = true;
      this.#emit('unauthorized', event.detail);
    });
    this.actions = {
      edit: (room, message) => this.#emit('editrequest', { room, message }),
      remove: (room, message, button) => this.#emit('deleterequest', { room, message, button }),
    };
    this.#restore();
    window.addEventListener('pagehide', () => this.saveNow());
  }

  get state() {
    return this.connection.state;
  }

  start() {
    this.connection.start();
  }

  /** Disconnects for good (signing out); the saved state stays until `Chat.forget`. */
  stop() {
    this.saveNow();
    this.#stopped = true;
    this.connection.stop();
  }

  // ---- rooms

  /** Joins a room (or shows it, when joined already). */
  join(name, { peer = null } = {}) {
    let room = this.rooms.get(name);
    if (!room) {
      room = new Room(name, this.me, this.actions);
      room.peer = peer;
      this.rooms.set(name, room);
      if (this.connection.connected) this.#join(room);
    } else if (peer && !room.peer) {
      room.peer = peer;
    }
    if (room.removed) {
      // Asked again after a kick: try (a public room may be joined again; else the server says why).
      room.removed = null;
      if (this.connection.connected) this.#join(room);
      this.#emit('members', room);
    }
    this.select(name);
    this.#save();
  }

  /** Creates a room and joins it; returns an error text, or null. */
  async create(name, kind, title) {
    const frame = { op: 'create', room: name, kind };
    if (title) frame.title = title;
    try {
      await this.connection.request(frame);
    } catch (error) {
      if (error?.code === 'forbidden') return `Cannot create #${name}: ${error.message}`;
      return `Cannot create #${name}: ${explain(error, name)}`;
    }
    this.join(name);
    const room = this.rooms.get(name);
    if (room && title) room.title = title;
    // Joined before it was created (a room never created is public): its kind and owner changed.
    if (room?.joined) this.#refreshMembers(room);
    return null;
  }

  /** Opens the direct-message room with `user` (the server creates it the first time); returns an error text, or null. */
  async openDirect(user) {
    if (user === this.me) return 'That is you: pick someone else.';
    let reply;
    try {
      reply = await this.connection.request({ op: 'dm', user });
    } catch (error) {
      return `Cannot message ${user}: ${explain(error, null)}`;
    }
    if (typeof reply.room !== 'string') return `Cannot message ${user}: the server sent no room.`;
    this.join(reply.room, { peer: user });
    return null;
  }

  /**
   * An owner's or moderator's request about `user` in `room`: `invite`, `kick`, `ban` (fields:
   * optional `until`), `unban`, `mute` (`until`), `role` (`role`). Returns an error text, or null.
   */
  async moderate(room, op, user, fields = {}) {
    if (!moderationOps.has(op)) return `Unknown action ${op}.`;
    try {
      await this.connection.request({ op, room: room.name, user, ...fields });
    } catch (error) {
      return explain(error, room);
    }
    this.#refreshMembers(room);
    return null;
  }

  select(name) {
    const room = this.rooms.get(name) ?? null;
    this.current = room;
    if (room) {
      room.unread = 0;
      this.#markRead(room);
    }
    this.#emit('rooms');
    this.#emit('change', { room, prepend: false });
    this.#emit('typing');
    this.#emit('presence');
    this.#save();
  }

  leave(name) {
    const room = this.rooms.get(name);
    if (!room) return;
    this.rooms.delete(name);
    if (room.joined) this.connection.request({ op: 'leave', room: name }).catch(() => {});
    if (this.current === room) this.select(this.rooms.keys().next().value ?? null);
    else this.#emit('rooms');
    this.#save();
  }

  async #join(room) {
    const since = room.cursor;
    let reply;
    try {
      reply = await this.connection.request(since ? { op: 'join', room: room.name, since } : { op: 'join', room: room.name });
    } catch (error) {
      if (error instanceof OfflineError || this.rooms.get(room.name) !== room) return;
      if (error.code === 'bad_request' && since) {
        room.cursor = null; // the server does not accept this cursor: start from the room's end
        return this.#join(room);
      }
      if (error.code === 'unavailable' || error.code === 'rate_limited') {
        this.#notice(`Cannot join ${room.name} yet (${error.message}); retrying.`);
        setTimeout(() => {
          if (this.connection.connected && this.rooms.get(room.name) === room && !room.joined) this.#join(room);
        }, 2000);
        return;
      }
      if (error.code === 'not_member' || error.code === 'forbidden') {
        this.#notice(`Cannot join ${room.label}. ${explain(error, room)}`);
        this.leave(room.name);
        return;
      }
      this.#notice(`Cannot join ${room.label}: ${error.message}`);
      return;
    }
    if (this.rooms.get(room.name) !== room) return;
    const newLog = room.joinedWith(reply, Boolean(since));
    if (room === this.current) room.unread = 0; // the server counts from our last read position
    if (newLog && since) {
      // Our cursor was from another log (the cluster was replaced): messages sent but not seen
      // delivered are lost with it, so they are sent again.
      for (const entry of room.pending.values()) entry.acked = false;
      this.#notice(`Reconnected to ${room.name}: the server started a new history.`);
    } else if (since && reply.recovered === false) {
      this.#notice(`Some messages of ${room.name} were too old to be delivered.`);
    }
    if (newLog) {
      room.more = false;
      this.loadOlder(room);
    }
    this.#emit('rooms');
    this.#emit('change', { room, prepend: false });
    this.#presence(room);
    this.#members(room);
    this.#flush(room);
    if (room === this.current) this.#markRead(room);
    this.#save();
  }

  /** Loads the page of history before the oldest message shown (the latest page when none is). */
  async loadOlder(room = this.current) {
    if (!room || room.loadingHistory || !this.connection.connected) return;
    room.loadingHistory = true;
    const before = room.oldestCursor;
    this.#emit('change', { room, prepend: false });
    try {
      const frame = { op: 'history', room: room.name, limit: historyPage };
      if (before) frame.before = before;
      const reply = await this.connection.request(frame);
      if (this.rooms.get(room.name) !== room) return;
      this.#emit('willchange', { room, prepend: Boolean(before) });
      for (const message of reply.messages ?? []) room.addMessage(message);
      room.more = Boolean(reply.more);
      room.loadingHistory = false;
      this.#emit('change', { room, prepend: Boolean(before) });
    } catch (error) {
      if (!(error instanceof OfflineError)) this.#notice(`Cannot load the history of ${room.name}: ${error.message}`);
    } finally {
      room.loadingHistory = false;
      this.#emit('change', { room, prepend: false });
      this.#save();
    }
  }

  // ---- sending, editing, deleting

  /** Queues a message for the current room; returns an error text, or null when queued. */
  send(text) {
    const room = this.current;
    const body = text.trim();
    if (!room) return 'Join a room first.';
    if (room.removed) return `You are no longer in ${room.label}.`;
    if (!body) return 'Type a message first.';
    if (utf8Length(body) > maxBodyBytes) return `Messages are limited to ${maxBodyBytes} bytes.`;
    this.#emit('willchange', { room, prepend: false });
    room.queue(body);
    this.#lastTyping = 0; // receivers clear the indicator on our message: announce the next typing at once
    this.#emit('change', { room, prepend: false });
    this.#flush(room);
    this.#save();
    return null;
  }

  #flush(room) {
    if (!room.joined || !this.connection.connected) return;
    for (const entry of room.pending.values()) {
      if (!entry.sending && !entry.acked && !entry.error) this.#sendOne(room, entry);
    }
  }

  async #sendOne(room, entry) {
    entry.sending = true;
    try {
      const ack = await this.connection.request({ op: 'send', room: room.name, cmid: entry.cmid, body: entry.body });
      entry.sending = false;
      room.acknowledged(entry.cmid, ack);
    } catch (error) {
      if (error instanceof OfflineError) {
        entry.sending = false; // sent again after the room is joined on the next connection
      } else if (['unavailable', 'rate_limited', 'not_joined'].includes(error.code)) {
        setTimeout(() => {
          entry.sending = false;
          if (room.pending.get(entry.cmid) === entry) this.#flush(room);
        }, 2000);
        return;
      } else {
        entry.sending = false;
        entry.error = explain(error, room);
        room.renderPending(entry, {
          retry: (e) => {
            e.error = null;
            room.renderPending(e);
            this.#flush(room);
          },
          discard: (e) => {
            room.discard(e.cmid);
            this.#save();
          },
        });
      }
    }
    this.#save();
  }

  /** Sends an edit; the page shows it when the `edited` event comes back. */
  async edit(room, message, body) {
    const text = body.trim();
    if (!room.isCurrent(message)) return 'That message is from an earlier history and cannot be changed.';
    if (!text || text === message.body) return null;
    if (utf8Length(text) > maxBodyBytes) return `Messages are limited to ${maxBodyBytes} bytes.`;
    try {
      await this.connection.request({ op: 'edit', room: room.name, msgId: message.msgId, body: text });
      return null;
    } catch (error) {
      return error instanceof OfflineError ? 'Not connected: the edit was not sent.' : error.message;
    }
  }

  async remove(room, message) {
    if (!room.isCurrent(message)) return this.#notice('That message is from an earlier history and cannot be changed.');
    try {
      await this.connection.request({ op: 'delete', room: room.name, msgId: message.msgId });
    } catch (error) {
      this.#notice(error instanceof OfflineError ? 'Not connected: the message was not deleted.' : explain(error, room));
    }
  }

  // ---- typing, presence, read positions (optional on the server)

  /** The user is typing in the current room: tell the others, at most every few seconds. */
  typing() {
    const room = this.current;
    const now = Date.now();
    if (!room?.joined || !this.features.typing || now - this.#lastTyping < typingEvery) return;
    this.#lastTyping = now;
    this.connection.request({ op: 'typing', room: room.name }, { quietAfter }).catch((error) => this.#refused('typing', error));
  }

  #presence(room) {
    if (!this.features.presence) return;
    this.connection
      .request({ op: 'presence', room: room.name })
      .then((reply) => {
        room.online = new Set(Array.isArray(reply.online) ? reply.online.map(String) : []);
        this.#emit('presence');
      })
      .catch((error) => this.#refused('presence', error));
  }

  #markRead(room) {
    if (!this.features.read || !room.joined || !room.cursor) return;
    if (room.lastRead === room.cursor) return;
    const now = Date.now();
    if (room.readTimer) return;
    const wait = Math.max(0, (room.readAt ?? 0) + readEvery - now);
    room.readTimer = setTimeout(() => {
      room.readTimer = null;
      if (!room.joined || !this.features.read || room.lastRead === room.cursor) return;
      room.readAt = Date.now();
      room.lastRead = room.cursor;
      this.connection.request({ op: 'read', room: room.name, cursor: room.cursor }, { quietAfter }).catch((error) => this.#refused('read', error));
    }, wait);
  }

  // ---- members (optional on the server)

  #members(room) {
    if (!this.features.members || room.removed) return;
    this.connection
      .request({ op: 'members', room: room.name })
      .then((reply) => {
        if (this.rooms.get(room.name) !== room) return;
        room.membersError = null;
        room.setMembers(reply);
        this.#emit('members', room);
        this.#emit('rooms'); // a DM's label is its peer
        if (room === this.current) this.#emit('change', { room, prepend: false });
        this.#save();
      })
      .catch((error) => {
        if (error instanceof OfflineError) return;
        if (error?.code === 'bad_request') {
          this.#refused('members', error);
          return;
        }
        room.members = null;
        room.membersError = explain(error, room);
        room.setModerates(false);
        this.#emit('members', room);
      });
  }

  /** Asks for the member list again soon (several `member` events in a row cost one request). */
  #refreshMembers(room) {
    if (room.membersTimer) return;
    room.membersTimer = setTimeout(() => {
      room.membersTimer = null;
      if (this.connection.connected && room.joined && this.rooms.get(room.name) === room) this.#members(room);
    }, membersAfter);
  }

  /** A `member` event: about us, it may end the room (then `left` follows); any refreshes the list. */
  #memberEvent(room, frame) {
    room.passed(frame.cursor);
    const by = typeof frame.by === 'string' ? frame.by : '';
    if (frame.user === this.me && (frame.change === 'removed' || frame.change === 'banned')) {
      // The server ends our subscription with `left` next; a public room may keep it (we
      // stay a visitor), so only `left` ends the room here.
      room.removal = { change: frame.change, by, until: typeof frame.until === 'number' ? frame.until : null };
      this.#refreshMembers(room);
    } else {
      if (frame.user === this.me && frame.change === 'muted' && typeof frame.until === 'number' && frame.until > Date.now()) {
        this.#notice(`You are muted in ${room.label} until ${new Date(frame.until).toLocaleString()}.`);
      }
      this.#refreshMembers(room);
    }
    this.#emit('members', room);
    if (room === this.current) this.#emit('change', { room, prepend: false });
    this.#save();
  }

  /** An optional request failed: `bad_request` means this server does not have the feature. */
  #refused(feature, error) {
    if (error?.code !== 'bad_request' || !this.features[feature]) return;
    this.features[feature] = false;
    if (feature === 'presence') for (const room of this.rooms.values()) room.online = null;
    if (feature === 'members') {
      for (const room of this.rooms.values()) this.#emit('members', room);
      return;
    }
    this.#emit(feature === 'presence' ? 'presence' : 'typing');
  }

  // ---- connection and events

  #connected() {
    this.features = { typing: true, presence: true, read: true, members: true };
    const order = [this.current, ...this.rooms.values()].filter((room, i, all) => room && all.indexOf(room) === i);
    for (const room of order) {
      room.joined = false;
      if (!room.removed) this.#join(room); // a removed room waits until the user joins it again
    }
    this.#emit('presence');
  }

  #stateChanged(state) {
    if (state !== 'connected') {
      for (const room of this.rooms.values()) {
        room.joined = false;
        room.online = null;
        room.typers.clear();
      }
      this.#emit('presence');
      this.#emit('typing');
      this.#emit('rooms');
    }
    this.#emit('state', state);
  }

  #event(frame) {
    const room = typeof frame.room === 'string' ? this.rooms.get(frame.room) : undefined;
    switch (frame.op) {
      case 'message':
      case 'edited':
      case 'deleted': {
        if (!room) return;
        this.#emit('willchange', { room, prepend: false });
        const result = room.applyEvent(frame);
        if (!result) return;
        if (result.kind === 'message' && room.typers.delete(frame.from)) this.#emit('typing');
        if (result.counted && room !== this.current) {
          room.unread += 1;
          this.#emit('rooms');
        }
        this.#emit('change', { room, prepend: false });
        if (room === this.current) this.#markRead(room);
        this.#save();
        return;
      }
      case 'typing':
        if (!room || frame.user === this.me) return;
        room.typers.set(String(frame.user), Date.now() + typingShownFor);
        this.#emit('typing');
        return;
      case 'member':
        if (room) this.#memberEvent(room, frame);
        return;
      case 'left':
        // Not the reply to our `leave`: the server ended the subscription (after a `member`
        // event removing us, or when the room stopped admitting us).
        if (!room) return;
        room.joined = false;
        room.removed = room.removal ?? { change: 'left', by: '', until: null };
        room.removal = null;
        room.setModerates(false);
        if (room.removed.change === 'banned') this.#notice(`You were banned from ${room.label}${room.removed.by ? ` by ${room.removed.by}` : ''}.`);
        else if (room.removed.change === 'removed') this.#notice(`You were removed from ${room.label}${room.removed.by ? ` by ${room.removed.by}` : ''}.`);
        else this.#notice(`You are no longer in ${room.label}.`);
        this.#emit('rooms');
        this.#emit('members', room);
        if (room === this.current) this.#emit('change', { room, prepend: false });
        this.#save();
        return;
      case 'presence.changed':
        if (!room?.online) return;
        if (frame.status === 'online') room.online.add(String(frame.user));
        else room.online.delete(String(frame.user));
        this.#emit('presence');
        return;
      case 'error':
        this.#notice(frame.message || frame.code);
        if (frame.code === 'unavailable') {
          // A catch-up read failed and the server dropped that subscription: join again.
          setTimeout(() => {
            if (!this.connection.connected) return;
            for (const each of this.rooms.values()) if (each.joined && !each.removed) this.#join(each);
          }, 1000);
        }
        return;
      default:
        return; // `read` and future events: nothing to show yet
    }
  }

  #notice(text) {
    this.#emit('notice', text);
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  // ---- persistence: rooms, cursors and recent messages survive a reload of this tab

  get #storageKey() {
    return `chat.rooms.${this.me}`;
  }

  #save() {
    clearTimeout(this.#saveTimer);
    this.#saveTimer = setTimeout(() => this.saveNow(), 100);
  }

  saveNow() {
    clearTimeout(this.#saveTimer);
    if (this.#stopped) return;
    const state = { current: this.current?.name ?? null, rooms: [...this.rooms.values()].map((room) => room.toJSON()) };
    try {
      sessionStorage.setItem(this.#storageKey, JSON.stringify(state));
    } catch {
      // Storage full or disabled: the page still works, it just cannot resume after a reload.
    }
  }

  #restore() {
    let state;
    try {
      state = JSON.parse(sessionStorage.getItem(this.#storageKey) ?? 'null');
    } catch {
      state = null;
    }
    for (const saved of state?.rooms ?? []) {
      if (typeof saved?.name !== 'string') continue;
      this.rooms.set(saved.name, Room.restore(saved, this.me, this.actions));
    }
    this.current = this.rooms.get(state?.current) ?? this.rooms.values().next().value ?? null;
  }

  static forget(user) {
    sessionStorage.removeItem(`chat.rooms.${user}`);
  }
}
