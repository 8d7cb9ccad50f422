// The WebSocket to the gateway (protocol v1): numbered requests with promised replies, events
// for everything else, a liveness ping, and reconnection with backoff.
//
// Events dispatched: `state` (detail: 'connecting' | 'connected' | 'reconnecting' | 'offline'),
// `open` (a new socket is ready: rejoin rooms), `frame` (detail: a server frame that is not the
// reply to a request), `unauthorized` (detail: reason; the token was refused and could not be
// renewed: reconnecting stopped).
//
// The token travels as the WebSocket subprotocol `bearer.<jwt>`, never in a URL (URLs end up in
// access logs). Before it expires, a renewable (development) token is replaced and sent with
// `auth`, so the server does not end the session with 4001.

import { jwtClaims } from './util.js';

const replyOps = new Set(['joined', 'left', 'ack', 'history', 'presence', 'pong', 'authed', 'members', 'dm', 'error']);
const pingEvery = 20_000;
const pongWithin = 10_000;

/** Rejection of requests that could not be sent or whose connection ended before the reply. */
export class OfflineError extends Error {
  constructor() {
    super('not connected');
    this.name = 'OfflineError';
  }
}

/** Rejection carrying a server `error` frame. */
export class ServerError extends Error {
  constructor(frame) {
    super(frame.message || frame.code);
    this.name = 'ServerError';
    this.code = frame.code;
  }
}

export class Connection extends EventTarget {
  #credentials;
  #socket = null;
  #nextId = 1;
  #pending = new Map();
  #attempt = 0;
  #retryTimer = null;
  #pingTimer = null;
  #refreshTimer = null;
  #running = false;
  #everConnected = false;

  /**
   * `credentials.token` is the current JWT; `credentials.renew(reason)` may fetch a new one and
   * resolves to true when it did (a development token after a server restart).
   */
  constructor(credentials) {
    super();
    this.#credentials = credentials;
    this.state = 'offline';
    window.addEventListener('online', () => this.reconnectNow());
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') this.reconnectNow();
    });
  }

  get connected() {
    return this.state === 'connected';
  }

  start() {
    if (this.#running) return;
    this.#running = true;
    this.#open();
  }

  stop() {
    this.#running = false;
    clearTimeout(this.#retryTimer);
    const socket = this.#socket;
    this.#detach();
    socket?.close(1000, 'signed out');
    this.#setState('offline');
  }

  /** Skips the backoff wait when a reconnect is pending (the network came back). */
  reconnectNow() {
    if (!this.#running || this.#socket || this.#retryTimer === null) return;
    clearTimeout(this.#retryTimer);
    this.#retryTimer = null;
    this.#attempt = 0;
    this.#open();
  }

  /**
   * Sends a request and resolves with its reply (rejects with ServerError or OfflineError).
   * With `quietAfter` (ms), a request that the server answers only on error (`typing`, `read`)
   * resolves with null when no error came back in that time.
   */
  request(frame, { quietAfter } = {}) {
    const socket = this.#socket;
    if (!socket || socket.readyState !== WebSocket.OPEN) return Promise.reject(new OfflineError());
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      const entry = { resolve, reject, timer: null };
      if (quietAfter) {
        entry.timer = setTimeout(() => {
          this.#pending.delete(id);
          resolve(null);
        }, quietAfter);
      }
      this.#pending.set(id, entry);
      socket.send(JSON.stringify({ ...frame, id }));
    });
  }

  #open() {
    this.#retryTimer = null;
    this.#setState(this.#everConnected ? 'reconnecting' : 'connecting');
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const url = `${scheme}://${location.host}/v1/ws`;
    let socket;
    try {
      socket = new WebSocket(url, [`bearer.${this.#credentials.token}`]);
    } catch {
      this.#retry(false, 1006);
      return;
    }
    this.#socket = socket;
    let opened = false;
    socket.addEventListener('open', () => {
      if (this.#socket !== socket) return;
      opened = true;
      this.#attempt = 0;
      this.#everConnected = true;
      this.#setState('connected');
      this.#schedulePing(socket);
      this.#scheduleRefresh(socket);
      this.dispatchEvent(new Event('open'));
    });
    socket.addEventListener('message', (event) => {
      if (this.#socket === socket) this.#receive(event.data);
    });
    socket.addEventListener('close', (event) => {
      if (this.#socket !== socket) return;
      this.#detach();
      if (this.#running) this.#retry(opened, event.code);
    });
  }

  #receive(data) {
    let frame;
    try {
      frame = JSON.parse(data);
    } catch {
      return;
    }
    if (!frame || typeof frame !== 'object') return;
    const entry = frame.id !== undefined ? this.#pending.get(frame.id) : undefined;
    if (entry && replyOps.has(frame.op)) {
      this.#pending.delete(frame.id);
      clearTimeout(entry.timer);
      if (frame.op === 'error') entry.reject(new ServerError(frame));
      else entry.resolve(frame);
      return;
    }
    this.dispatchEvent(new CustomEvent('frame', { detail: frame }));
  }

  /** Forgets the current socket: its pending requests fail, its timers stop. */
  #detach() {
    this.#socket = null;
    clearTimeout(this.#pingTimer);
    clearTimeout(this.#refreshTimer);
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const entry of pending) {
      clearTimeout(entry.timer);
      entry.reject(new OfflineError());
    }
    if (this.#running) this.#setState(this.#everConnected ? 'reconnecting' : 'connecting');
  }

  async #retry(opened, code) {
    const attempt = this.#attempt++;
    let delay = Math.min(5000, 250 * 2 ** attempt) * (0.5 + Math.random() / 2);
    if (code === 4029) delay = Math.max(delay, 10_000); // closed for exceeding the rate limit
    if (!opened || code === 4001) {
      // The upgrade failed: ask the same URL over plain HTTP why (401 names a refused token).
      const refusal = await this.#probe();
      if (!this.#running) return;
      if (refusal !== null) {
        const renewed = await this.#credentials.renew(refusal).catch(() => false);
        if (!this.#running) return;
        if (!renewed) {
          this.stop();
          this.dispatchEvent(new CustomEvent('unauthorized', { detail: refusal }));
          return;
        }
        delay = 0;
      }
    }
    this.#retryTimer = setTimeout(() => this.#open(), delay);
  }

  /** The reason the server refuses our token, or null (refusal not confirmed, or server down). */
  async #probe() {
    try {
      const response = await fetch('/v1/ws', {
        cache: 'no-store',
        headers: { Authorization: `Bearer ${this.#credentials.token}` },
      });
      if (response.status !== 401) return null;
      const body = await response.json().catch(() => ({}));
      return body.message || 'token refused';
    } catch {
      return null;
    }
  }

  #schedulePing(socket) {
    clearTimeout(this.#pingTimer);
    this.#pingTimer = setTimeout(async () => {
      if (this.#socket !== socket) return;
      const timeout = setTimeout(() => {
        // No pong: the connection is dead even if the socket has not noticed.
        if (this.#socket !== socket) return;
        this.#detach();
        socket.close();
        if (this.#running) this.#retry(true, 1006);
      }, pongWithin);
      try {
        await this.request({ op: 'ping' });
        clearTimeout(timeout);
        this.#schedulePing(socket);
      } catch {
        clearTimeout(timeout);
        if (this.#socket === socket) this.#schedulePing(socket); // refused (rate limit): try later
      }
    }, pingEvery);
  }

  /**
   * Renews the token shortly before its `exp` (a tenth of its remaining life, 5 s to 60 s early)
   * and sends it with `auth`. A token that cannot be renewed (pasted) is left to expire: the
   * server closes with 4001 and the reconnect asks the user to sign in again.
   */
  #scheduleRefresh(socket) {
    clearTimeout(this.#refreshTimer);
    const exp = jwtClaims(this.#credentials.token)?.exp;
    if (typeof exp !== 'number') return;
    const remaining = exp * 1000 - Date.now();
    const early = Math.min(60_000, Math.max(5_000, remaining / 10));
    this.#refreshTimer = setTimeout(async () => {
      if (this.#socket !== socket) return;
      try {
        if (!(await this.#credentials.renew('token expires soon'))) return;
        if (this.#socket !== socket) return;
        await this.request({ op: 'auth', token: this.#credentials.token });
        this.#scheduleRefresh(socket);
      } catch {
        // Offline or refused: the 4001 close and the reconnect that follows sort it out.
      }
    }, Math.max(1_000, remaining - early));
  }

  #setState(state) {
    if (this.state === state) return;
    this.state = state;
    this.dispatchEvent(new CustomEvent('state', { detail: state }));
  }
}
