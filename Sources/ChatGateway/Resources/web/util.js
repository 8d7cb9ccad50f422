// Small helpers shared by the page's modules. Nothing here touches the network.

/**
 * Creates an element. `props` are attributes (strings) except `dataset`, `on*` handlers
 * (functions) and `hidden`; children are nodes or strings, and strings always become text
 * nodes: no path here parses HTML.
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else if (key === 'hidden') node.hidden = Boolean(value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** A random id for `cmid` (crypto.randomUUID needs a secure context; this does not). */
export function randomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The claims of a JWT, without checking its signature (the server does), or null. */
export function jwtClaims(token) {
  const parts = String(token).split('.');
  if (parts.length !== 3) return null;
  try {
    const base64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const padded = base64 + '='.repeat((4 - (base64.length % 4)) % 4);
    const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes));
    return claims && typeof claims === 'object' ? claims : null;
  } catch {
    return null;
  }
}

const roomPattern = /^[A-Za-z0-9._-]{1,128}$/;

/** True for a valid room name: 1..128 characters of A-Z a-z 0-9 . _ - */
export function isRoomName(name) {
  return roomPattern.test(name);
}

/**
 * Splits a cursor `<epoch>.<partition>.<offset>` into the log it belongs to (`key`, epoch and
 * partition) and its offset. Cursors compare only when their keys are equal.
 */
export function parseCursor(cursor) {
  if (typeof cursor !== 'string') return null;
  const dot = cursor.lastIndexOf('.');
  if (dot < 0) return null;
  const offset = Number(cursor.slice(dot + 1));
  if (!Number.isInteger(offset)) return null;
  return { key: cursor.slice(0, dot), offset };
}

/** UTF-8 length of a string, as the server counts message bodies. */
export function utf8Length(text) {
  return new TextEncoder().encode(text).length;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

/** Short and long renderings of a millisecond timestamp. */
export function formatTime(ms) {
  const date = new Date(ms);
  if (Number.isNaN(date.getTime())) return { short: '', long: '', iso: '' };
  return { short: timeFormat.format(date), long: dateTimeFormat.format(date), iso: date.toISOString() };
}
