// Signing in: a development token from POST /v1/dev/token for a name, or a pasted JWT. The
// credentials live in sessionStorage (per tab, kept across reloads).

import { jwtClaims } from './util.js';

const storageKey = 'chat.auth';

export class SignInError extends Error {}

export class Credentials {
  constructor({ mode, token, user }) {
    /** 'dev' (a name; renewable) or 'jwt' (a pasted token). */
    this.mode = mode;
    this.token = token;
    /** The `sub` claim: who the server thinks we are. */
    this.user = user;
  }

  static load() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(storageKey) ?? 'null');
      if (saved && typeof saved.token === 'string' && typeof saved.user === 'string') return new Credentials(saved);
    } catch {
      // Unreadable: sign in again.
    }
    return null;
  }

  save() {
    sessionStorage.setItem(storageKey, JSON.stringify({ mode: this.mode, token: this.token, user: this.user }));
  }

  static clear() {
    sessionStorage.removeItem(storageKey);
  }

  /** Asks the server for a development token for `name`. */
  static async forName(name) {
    const token = await requestDevelopmentToken(name);
    const claims = jwtClaims(token);
    return new Credentials({ mode: 'dev', token, user: claims?.sub ?? name });
  }

  /** Checks the shape and expiry of a pasted JWT (the server checks its signature). */
  static fromToken(text) {
    const token = text.trim().replace(/^Bearer\s+/i, '');
    const claims = jwtClaims(token);
    if (!claims || typeof claims.sub !== 'string' || claims.sub === '') {
      throw new SignInError('That is not a JWT with a sub claim.');
    }
    if (typeof claims.exp === 'number' && claims.exp * 1000 < Date.now()) {
      throw new SignInError('That token has expired.');
    }
    return new Credentials({ mode: 'jwt', token, user: claims.sub });
  }

  /**
   * Called when the server refuses the token. A development token is issued again (the
   * server's signing key changes when it restarts); a pasted one cannot be renewed here.
   */
  async renew() {
    if (this.mode !== 'dev') return false;
    this.token = await requestDevelopmentToken(this.user);
    this.save();
    return true;
  }
}

async function requestDevelopmentToken(user) {
  let response;
  try {
    response = await fetch('/v1/dev/token', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ user }),
    });
  } catch {
    throw new SignInError('The server cannot be reached.');
  }
  if (response.status === 404) {
    throw new SignInError('This server does not issue development tokens: sign in with a JWT.');
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok || typeof body.token !== 'string') {
    throw new SignInError(body.message || `Sign-in failed (HTTP ${response.status}).`);
  }
  return body.token;
}
