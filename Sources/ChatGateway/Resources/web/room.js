// One room as the page sees it: its messages in cursor order, the resume cursor, unread count,
// sends waiting for their acknowledgement, who is online and typing, its kind and members, and
// the DOM of its log.
//
// Messages are kept per log ("segment": epoch and partition of their cursors). A server whose
// log was replaced (a new epoch) starts a new segment below a visible break; offsets compare
// only inside a segment.

import { el, formatTime, parseCursor, randomId } from './util.js';

const storedMessages = 200;

function messageKey(logKey, msgId) {
  return `${logKey}|${msgId}`;
}

export class Room {
  /** `me` is the signed-in user id; `actions` has `edit(room, message)` and `remove(room, message, button)`. */
  constructor(name, me, actions) {
    this.name = name;
    this.me = me;
    this.actions = actions;
    /** Cursor of the last event received: the `since` of the next join. */
    this.cursor = null;
    this.unread = 0;
    /** Events up to this cursor are already counted in `unread` (the server's count on join). */
    this.unreadFloor = null;
    /** Older history exists before the first message of the newest segment. */
    this.more = false;
    this.loadingHistory = false;
    this.joined = false;
    /** null: unknown or not supported; else the user ids online. */
    this.online = null;
    /** user id -> time (ms) the typing indicator expires. */
    this.typers = new Map();
    this.segments = [];
    /** `<log key>|<msgId>` -> message: msgIds are offsets, unique only within one log. */
    this.byId = new Map();
    /** cmid -> { cmid, body, acked, sending, error, element } */
    this.pending = new Map();
    /** From the `members` reply: 'public', 'private', 'dm', or null (not known yet). */
    this.kind = null;
    this.title = null;
    /** [{ user, role }] from the last `members` reply, or null (not known or not available). */
    this.members = null;
    /** In a DM: the other user (the room's name, `dm.<hex>`, means nothing to people). */
    this.peer = null;
    /** Set when the server ended our subscription (kicked or banned): { change, by, until }. */
    this.removed = null;
    /** The `member` event that removed us, until the `left` that follows it. */
    this.removal = null;
    /** Why the member list could not be read (not_member...), or null. */
    this.membersError = null;
    this.membersTimer = null;
    /** We are an owner or moderator here: others' messages get a Delete button. */
    this.moderates = false;

    this.list = el('ol', { class: 'messages', 'aria-label': `Messages in ${name}` });
    this.pendingList = el('ol', { class: 'messages pending', 'aria-label': 'Sending' });
    this.view = el('div', { class: 'room-view' }, this.list, this.pendingList);
  }

  /** The name people read: `@peer` for a DM, else `#name`. */
  get label() {
    return this.peer ? `@${this.peer}` : `#${this.name}`;
  }

  /** Our role from the last `members` reply: 'owner', 'moderator', 'member', or null (not a member). */
  get myRole() {
    return this.members?.find((m) => m.user === this.me)?.role ?? null;
  }

  /** Applies a `members` reply (kind, title, members; the peer of a DM). */
  setMembers(reply) {
    this.kind = typeof reply.kind === 'string' ? reply.kind : 'public';
    // The reply may not carry the title: keep the one we gave when creating the room.
    if (typeof reply.title === 'string') this.title = reply.title || null;
    const roles = new Set(['owner', 'moderator', 'member']);
    this.members = (Array.isArray(reply.members) ? reply.members : [])
      .filter((m) => m && typeof m.user === 'string')
      .map((m) => ({ user: m.user, role: roles.has(m.role) ? m.role : 'member' }));
    if (this.kind === 'dm') this.peer = this.members.find((m) => m.user !== this.me)?.user ?? this.peer;
    this.setModerates(this.myRole === 'owner' || this.myRole === 'moderator');
  }

  /** Shows or hides the Delete button on others' messages (owners and moderators delete any). */
  setModerates(moderates) {
    if (moderates === this.moderates) return;
    this.moderates = moderates;
    for (const segment of this.segments) {
      for (const message of segment.items) {
        if (message.from === this.me) continue;
        const fresh = this.#render(message);
        if (segment !== this.currentSegment) fresh.classList.add('stale');
        message.element.replaceWith(fresh);
        message.element = fresh;
      }
    }
  }

  /** Moves the resume cursor past a `member` event (it is part of the room's log). */
  passed(cursor) {
    if (!this.seen(cursor) && parseCursor(cursor)) this.cursor = cursor;
  }

  // ---- cursors and segments

  #segment(key) {
    let segment = this.segments.find((s) => s.key === key);
    if (!segment) {
      segment = { key, items: [], breakElement: null };
      if (this.segments.some((s) => s.items.length > 0)) {
        segment.breakElement = el(
          'li',
          { class: 'break', role: 'separator', 'data-testid': 'history-break' },
          'The server started a new history: messages above are from before.',
        );
        this.list.append(segment.breakElement);
      }
      // Messages of older logs cannot be edited or deleted: their msgIds mean nothing now.
      for (const older of this.segments) for (const item of older.items) item.element.classList.add('stale');
      this.segments.push(segment);
    }
    return segment;
  }

  /** The newest segment, where live events go and whose start "load older" extends. */
  get currentSegment() {
    return this.segments[this.segments.length - 1] ?? null;
  }

  /** True when `cursor` is at or before the resume cursor in the same log (already seen). */
  seen(cursor) {
    const have = parseCursor(this.cursor);
    const event = parseCursor(cursor);
    return Boolean(have && event && have.key === event.key && event.offset <= have.offset);
  }

  /** Cursor of the oldest message of the newest segment: `before` for "load older". */
  get oldestCursor() {
    return this.currentSegment?.items[0]?.cursor ?? null;
  }

  /**
   * Applies a `joined` reply. Returns true when the room needs its latest history loaded (a
   * first join, or a new log after a server restart).
   */
  joinedWith(reply, askedSince) {
    this.joined = true;
    const now = parseCursor(reply.cursor);
    if (typeof reply.unread === 'number') {
      this.unread = reply.unread;
      this.unreadFloor = reply.cursor;
    }
    if (!now) return false;
    const known = parseCursor(this.cursor);
    if (!askedSince || !known || known.key !== now.key) {
      // A first join, or our cursor is from another log: start from the room's end and load
      // the latest history of this log.
      this.cursor = reply.cursor;
      this.#segment(now.key);
      return true;
    }
    return false;
  }

  // ---- events

  /**
   * Applies a live `message` / `edited` / `deleted` event. Returns what happened: null for a
   * duplicate (cursor already seen), else { kind, counted } where counted says it is a new
   * message that should raise the unread count.
   */
  applyEvent(frame) {
    if (this.seen(frame.cursor)) return null;
    const event = parseCursor(frame.cursor);
    if (!event) return null;
    this.cursor = frame.cursor;
    if (frame.op === 'message') {
      const inserted = this.addMessage(frame);
      const floor = parseCursor(this.unreadFloor);
      const countedByServer = floor && floor.key === event.key && event.offset <= floor.offset;
      return { kind: 'message', counted: inserted && frame.from !== this.me && !countedByServer };
    }
    if (frame.op === 'edited') this.#edit(messageKey(event.key, frame.msgId), frame.body);
    if (frame.op === 'deleted') this.#remove(messageKey(event.key, frame.msgId));
    return { kind: frame.op, counted: false };
  }

  /** Adds a message (live or from history) in cursor order; false when it is already shown. */
  addMessage(data) {
    const position = parseCursor(data.cursor);
    if (!position || typeof data.msgId !== 'string') return false;
    if (data.from === this.me && data.cmid) this.#settle(data.cmid);
    const id = messageKey(position.key, data.msgId);
    if (this.byId.has(id)) return false;
    const message = {
      id,
      msgId: data.msgId,
      cmid: data.cmid,
      from: String(data.from ?? ''),
      body: String(data.body ?? ''),
      ts: data.ts,
      cursor: data.cursor,
      offset: position.offset,
      edited: Boolean(data.edited),
    };
    message.element = this.#render(message);
    const segment = this.#segment(position.key);
    const items = segment.items;
    let index = items.length;
    while (index > 0 && items[index - 1].offset > message.offset) index--;
    items.splice(index, 0, message);
    this.byId.set(id, message);
    message.segment = segment;
    if (segment !== this.currentSegment) message.element.classList.add('stale');
    const next = items[index + 1];
    const previous = items[index - 1];
    if (next) next.element.before(message.element);
    else if (previous) previous.element.after(message.element);
    else if (segment.breakElement) segment.breakElement.after(message.element);
    else this.list.prepend(message.element);
    return true;
  }

  #edit(id, body) {
    const message = this.byId.get(id);
    if (!message) return;
    message.body = String(body ?? '');
    message.edited = true;
    const fresh = this.#render(message);
    if (message.segment !== this.currentSegment) fresh.classList.add('stale');
    message.element.replaceWith(fresh);
    message.element = fresh;
  }

  #remove(id) {
    const message = this.byId.get(id);
    if (!message) return;
    this.byId.delete(id);
    for (const segment of this.segments) {
      const index = segment.items.indexOf(message);
      if (index >= 0) segment.items.splice(index, 1);
    }
    message.element.remove();
  }

  #render(message) {
    const mine = message.from === this.me;
    const time = formatTime(message.ts);
    const remove = el('button', { type: 'button', class: 'link danger', onclick: (e) => this.actions.remove(this, message, e.currentTarget) }, 'Delete');
    let actions = null;
    if (mine) actions = el('div', { class: 'actions' }, el('button', { type: 'button', class: 'link', onclick: () => this.actions.edit(this, message) }, 'Edit'), remove);
    else if (this.moderates) actions = el('div', { class: 'actions' }, remove);
    return el(
      'li',
      { class: mine ? 'msg mine' : 'msg', dataset: { msgId: message.msgId } },
      el(
        'div',
        { class: 'meta' },
        el('span', { class: 'from' }, message.from),
        ' ',
        el('time', { datetime: time.iso, title: time.long }, time.short),
        message.edited ? el('span', { class: 'edited' }, ' (edited)') : null,
      ),
      el('p', { class: 'body', 'data-testid': 'message', dataset: { cursor: message.cursor, from: message.from, msgId: message.msgId } }, message.body),
      actions,
    );
  }

  /** True for a message of the room's current log (only those can be edited or deleted). */
  isCurrent(message) {
    return message.segment === this.currentSegment && this.byId.get(message.id) === message;
  }

  /** The newest message of mine in the newest segment (ArrowUp edits it). */
  get lastOwnMessage() {
    const items = this.currentSegment?.items ?? [];
    for (let i = items.length - 1; i >= 0; i--) if (items[i].from === this.me) return items[i];
    return null;
  }

  // ---- sends waiting for acknowledgement

  /** Queues a message to send; it shows as pending until its `message` event arrives. */
  queue(body, cmid = randomId()) {
    const entry = { cmid, body, acked: false, sending: false, error: null, element: null };
    entry.element = el('li', { class: 'msg mine pending-msg' });
    this.pending.set(cmid, entry);
    this.pendingList.append(entry.element);
    this.renderPending(entry);
    return entry;
  }

  /** Redraws a pending send; `retry` and `discard` are offered once it failed. */
  renderPending(entry, handlers = {}) {
    const status = entry.error ? `not sent: ${entry.error}` : entry.acked ? 'sent' : 'sending…';
    entry.element.replaceChildren(
      el('div', { class: 'meta' }, el('span', { class: 'from' }, this.me), ' ', el('span', { class: 'status' }, status)),
      el('p', { class: 'body', 'data-testid': 'pending-message' }, entry.body),
      entry.error && handlers.retry
        ? el(
            'div',
            { class: 'actions visible' },
            el('button', { type: 'button', class: 'link', onclick: () => handlers.retry(entry) }, 'Retry'),
            el('button', { type: 'button', class: 'link danger', onclick: () => handlers.discard(entry) }, 'Discard'),
          )
        : null,
    );
    entry.element.classList.toggle('failed', Boolean(entry.error));
  }

  /** Our message with this cmid was delivered: drop its pending copy. */
  #settle(cmid) {
    const entry = this.pending.get(cmid);
    if (!entry) return;
    this.pending.delete(cmid);
    entry.element.remove();
  }

  discard(cmid) {
    this.#settle(cmid);
  }

  /** Our send was acknowledged; when it names a message already shown (a retried send), the pending copy goes. */
  acknowledged(cmid, ack) {
    const entry = this.pending.get(cmid);
    if (!entry) return;
    entry.acked = true;
    const position = parseCursor(ack.cursor);
    if (position && this.byId.has(messageKey(position.key, ack.msgId))) this.#settle(cmid);
    else this.renderPending(entry);
  }

  // ---- typing

  typingNames(now = Date.now()) {
    for (const [user, until] of this.typers) if (until <= now) this.typers.delete(user);
    return [...this.typers.keys()];
  }

  // ---- persistence (sessionStorage): the newest messages, cursors and unsent messages

  toJSON() {
    const messages = this.segments.flatMap((s) => s.items).slice(-storedMessages);
    return {
      name: this.name,
      cursor: this.cursor,
      kind: this.kind,
      title: this.title,
      peer: this.peer,
      removed: this.removed,
      unread: this.unread,
      more: this.more || messages.length < this.segments.reduce((n, s) => n + s.items.length, 0),
      messages: messages.map(({ msgId, cmid, from, body, ts, cursor, edited }) => ({ msgId, cmid, from, body, ts, cursor, edited })),
      pending: [...this.pending.values()].filter((p) => !p.error).map(({ cmid, body }) => ({ cmid, body })),
    };
  }

  static restore(saved, me, actions) {
    const room = new Room(saved.name, me, actions);
    room.cursor = typeof saved.cursor === 'string' ? saved.cursor : null;
    room.unread = Number(saved.unread) || 0;
    room.more = Boolean(saved.more);
    room.kind = typeof saved.kind === 'string' ? saved.kind : null;
    room.title = typeof saved.title === 'string' ? saved.title : null;
    room.peer = typeof saved.peer === 'string' ? saved.peer : null;
    room.removed = saved.removed && typeof saved.removed === 'object' ? saved.removed : null;
    for (const message of saved.messages ?? []) room.addMessage(message);
    for (const entry of saved.pending ?? []) room.queue(entry.body, entry.cmid);
    return room;
  }
}
