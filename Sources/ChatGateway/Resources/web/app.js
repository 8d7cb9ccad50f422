// The page: sign-in, the room list, the message log and the composer. Protocol work happens
// in chat.js; this module only renders and turns input into calls.

import { Credentials, SignInError } from './auth.js';
import { Chat } from './chat.js';
import { MembersPanel } from './members.js';
import { el, isRoomName, jwtClaims } from './util.js';

const $ = (id) => document.getElementById(id);
const defaultRooms = ['lobby', 'general', 'random'];

let chat = null;
let stickToBottom = true;
let distanceFromBottom = 0;
let noticeTimer = null;
let typingTimer = null;
const membersPanel = new MembersPanel({ count: $('members-count'), body: $('members-body'), notice: (text) => notice(text) });

// ---- signing in and out

function showLogin(error = '') {
  $('chat').hidden = true;
  $('who').hidden = true;
  $('login').hidden = false;
  $('login-error').textContent = error;
  $('connection-state').textContent = 'signed out';
  document.body.dataset.state = 'signed-out';
  $('login-name').value = localStorage.getItem('chat.lastName') ?? '';
  $('login-name').focus();
}

async function signIn(makeCredentials) {
  $('login-error').textContent = '';
  try {
    const credentials = await makeCredentials();
    credentials.save();
    start(credentials);
  } catch (error) {
    $('login-error').textContent = error instanceof SignInError ? error.message : `Sign-in failed: ${error.message}`;
  }
}

$('login-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const name = $('login-name').value.trim();
  if (!name) {
    $('login-error').textContent = 'Type a name first.';
    return;
  }
  localStorage.setItem('chat.lastName', name);
  signIn(() => Credentials.forName(name));
});

$('token-form').addEventListener('submit', (event) => {
  event.preventDefault();
  signIn(async () => Credentials.fromToken($('login-token').value));
});

$('sign-out').addEventListener('click', () => {
  if (!chat) return;
  chat.stop();
  Chat.forget(chat.me);
  Credentials.clear();
  chat = null;
  showLogin();
});

function start(credentials) {
  chat = new Chat(credentials);
  $('login').hidden = true;
  $('chat').hidden = false;
  $('who').hidden = false;
  $('me').textContent = credentials.user;
  $('login-token').value = '';

  chat.addEventListener('state', (event) => renderState(event.detail));
  chat.addEventListener('rooms', renderRooms);
  chat.addEventListener('willchange', (event) => beforeChange(event.detail));
  chat.addEventListener('change', (event) => afterChange(event.detail));
  chat.addEventListener('typing', renderTyping);
  chat.addEventListener('presence', renderPresence);
  chat.addEventListener('members', (event) => {
    if (event.detail === chat?.current) renderMembers();
  });
  chat.addEventListener('notice', (event) => notice(event.detail));
  chat.addEventListener('editrequest', (event) => startEdit(event.detail.room, event.detail.message));
  chat.addEventListener('deleterequest', (event) => confirmDelete(event.detail));
  chat.addEventListener('unauthorized', (event) => {
    const user = chat.me;
    chat = null;
    Chat.forget(user);
    Credentials.clear();
    showLogin(`The server refused your token (${event.detail}). Sign in again.`);
  });

  renderState(chat.state);
  renderRooms();
  afterChange({ room: chat.current, prepend: false });
  renderPresence();
  renderMembers();
  chat.start();
  const wanted = roomInHash();
  if (wanted) chat.join(wanted);
  else $(chat.current ? 'composer' : 'room-name').focus();
}

// ---- rooms

$('join-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const name = $('room-name').value.trim();
  if (!isRoomName(name)) {
    notice('Room names are 1 to 128 letters, digits, dots, underscores or hyphens.');
    $('room-name').focus();
    return;
  }
  $('room-name').value = '';
  chat?.join(name);
  $('composer').focus();
});

$('create-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const name = $('create-name').value.trim();
  if (!isRoomName(name)) {
    notice('Room names are 1 to 128 letters, digits, dots, underscores or hyphens.');
    $('create-name').focus();
    return;
  }
  if (name.startsWith('dm.')) {
    notice('Names starting with dm. are kept for direct messages.');
    return;
  }
  const kind = $('create-form').querySelector('input[name=kind]:checked')?.value ?? 'public';
  const error = await chat?.create(name, kind, $('create-title').value.trim());
  if (error) {
    notice(error);
    return;
  }
  $('create-name').value = '';
  $('create-title').value = '';
  $('create').open = false;
  $('composer').focus();
});

$('leave').addEventListener('click', () => {
  if (chat?.current) chat.leave(chat.current.name);
});

/** The room named by the URL fragment (`/#lobby`), or null. */
function roomInHash() {
  try {
    const name = decodeURIComponent(location.hash.slice(1));
    return isRoomName(name) ? name : null;
  } catch {
    return null; // malformed escapes
  }
}

window.addEventListener('hashchange', () => {
  const wanted = roomInHash();
  if (chat && wanted && chat.current?.name !== wanted) chat.join(wanted);
});

function renderRooms() {
  if (!chat) return;
  const items = [...chat.rooms.values()].map((room) => {
    const current = room === chat.current;
    const badge = room.unread > 0 ? el('span', { class: 'badge', 'data-testid': 'unread', 'aria-label': `${room.unread} unread` }, String(room.unread)) : null;
    return el(
      'li',
      {},
      el(
        'button',
        {
          type: 'button',
          class: 'room-button',
          'aria-current': current ? 'true' : null,
          'data-testid': 'room',
          dataset: { room: room.name, joined: String(room.joined) },
          onclick: () => chat.select(room.name),
        },
        el('span', { class: 'room-label' }, room.label),
        badge,
      ),
    );
  });
  $('room-list').replaceChildren(...items);
  if (!items.length) $('room-list').append(el('li', { class: 'hint' }, 'None yet.'));

  const claimed = jwtClaims(chat.credentials.token)?.rooms;
  const fromToken = Array.isArray(claimed) ? claimed.filter((name) => typeof name === 'string' && isRoomName(name)) : [];
  const suggestions = [...new Set([...fromToken, ...defaultRooms])].filter((name) => !chat.rooms.has(name));
  $('suggested').replaceChildren(
    ...suggestions.map((name) => el('li', {}, el('button', { type: 'button', class: 'room-button', onclick: () => chat.join(name) }, '#', name))),
  );
  $('suggested-title').hidden = suggestions.length === 0;

  const unread = [...chat.rooms.values()].reduce((sum, room) => sum + room.unread, 0);
  document.title = unread > 0 ? `(${unread}) kafka-chat` : 'kafka-chat';
  if (chat.current && location.hash.slice(1) !== chat.current.name) history.replaceState(null, '', `#${chat.current.name}`);
}

// ---- the message log

const log = $('log');
log.addEventListener('scroll', () => {
  stickToBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 48;
});

function beforeChange({ room, prepend }) {
  if (room !== chat?.current) return;
  if (prepend) distanceFromBottom = log.scrollHeight - log.scrollTop;
}

function afterChange({ room, prepend }) {
  if (!chat || room !== chat.current) return;
  const view = $('room-view');
  const switched = view.firstChild !== (room?.view ?? null);
  if (switched) {
    view.replaceChildren(...(room ? [room.view] : []));
    stickToBottom = true;
    cancelEdit();
  }
  $('room-title').textContent = room ? room.label : 'No room yet';
  $('room-title').title = room?.title ?? '';
  $('leave').hidden = !room;
  $('composer').disabled = !room || Boolean(room.removed);
  $('send').disabled = !room || Boolean(room.removed);
  renderRemoved(room);
  $('load-older').hidden = !room || !room.more;
  $('load-older').disabled = Boolean(room?.loadingHistory);
  $('load-older').textContent = room?.loadingHistory ? 'Loading…' : 'Load older messages';
  $('empty').hidden = !room || room.byId.size > 0 || room.pending.size > 0 || room.loadingHistory;
  if (prepend) log.scrollTop = log.scrollHeight - distanceFromBottom;
  else if (stickToBottom) log.scrollTop = log.scrollHeight;
  if (switched) {
    renderRooms();
    renderMembers();
  }
}

/** The line saying our subscription was ended (kicked, banned), instead of a composer that works. */
function renderRemoved(room) {
  const removed = room?.removed;
  $('removed').hidden = !removed;
  if (!removed) {
    $('removed').textContent = '';
    return;
  }
  $('removed').dataset.change = removed.change;
  const by = removed.by ? ` by ${removed.by}` : '';
  const until = typeof removed.until === 'number' ? ` until ${new Date(removed.until).toLocaleString()}` : '';
  const text = removed.change === 'banned'
    ? `You were banned from this room${by}${until}.`
    : removed.change === 'removed'
      ? `You were removed from this room${by}.`
      : 'You are no longer in this room.';
  $('removed').textContent = `${text} Join it again from the box on the left, or leave it.`;
}

function renderMembers() {
  membersPanel.render(chat, chat?.current ?? null);
  $('members').hidden = !chat?.current;
}

$('load-older').addEventListener('click', () => chat?.loadOlder());

// ---- composer

const composer = $('composer');

composer.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    submit();
  } else if (event.key === 'ArrowUp' && composer.value === '' && chat?.current) {
    const message = chat.current.lastOwnMessage;
    if (message) {
      event.preventDefault();
      startEdit(chat.current, message);
    }
  }
});

/** Grows the composer with its text, up to a few lines, then scrolls inside it. */
function fitComposer() {
  composer.style.height = 'auto';
  const borders = composer.offsetHeight - composer.clientHeight;
  const wanted = composer.scrollHeight + borders;
  composer.style.height = `${Math.min(wanted, 160)}px`;
  composer.style.overflowY = wanted > 160 ? 'auto' : 'hidden';
}

composer.addEventListener('input', () => {
  fitComposer();
  if (composer.value.trim()) chat?.typing();
});

$('send-form').addEventListener('submit', (event) => {
  event.preventDefault();
  submit();
});

function submit() {
  if (!chat) return;
  const error = chat.send(composer.value);
  if (error) {
    notice(error);
    return;
  }
  composer.value = '';
  fitComposer();
  stickToBottom = true;
  log.scrollTop = log.scrollHeight;
}

// ---- editing and deleting own messages

let editing = null;

function startEdit(room, message) {
  cancelEdit();
  const body = message.element.querySelector('.body');
  if (!body) return;
  const field = el('textarea', { class: 'edit-field', rows: '2', 'aria-label': 'Edit message', 'data-testid': 'edit-field' });
  field.value = message.body;
  const form = el(
    'form',
    { class: 'edit-form' },
    field,
    el('p', { class: 'hint' }, 'Enter saves, Escape cancels'),
  );
  editing = { message, body, form };
  body.replaceWith(form);
  field.focus();
  field.setSelectionRange(field.value.length, field.value.length);
  const save = async () => {
    const text = field.value;
    cancelEdit();
    const error = await chat.edit(room, message, text);
    if (error) notice(error);
    composer.focus();
  };
  field.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      save();
    } else if (event.key === 'Escape') {
      event.preventDefault();
      cancelEdit();
      composer.focus();
    }
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    save();
  });
}

function cancelEdit() {
  if (!editing) return;
  const { body, form } = editing;
  editing = null;
  if (form.isConnected) form.replaceWith(body);
}

function confirmDelete({ room, message, button }) {
  if (button.dataset.confirm === 'yes') {
    chat.remove(room, message);
    composer.focus();
    return;
  }
  button.dataset.confirm = 'yes';
  button.textContent = 'Confirm delete';
  setTimeout(() => {
    if (!button.isConnected) return;
    delete button.dataset.confirm;
    button.textContent = 'Delete';
  }, 4000);
}

// ---- status lines

function renderState(state) {
  $('connection-state').textContent = state;
  document.body.dataset.state = state;
}

function renderTyping() {
  clearTimeout(typingTimer);
  const room = chat?.current;
  const names = room && chat.features.typing ? room.typingNames() : [];
  let text = '';
  if (names.length === 1) text = `${names[0]} is typing…`;
  else if (names.length === 2) text = `${names[0]} and ${names[1]} are typing…`;
  else if (names.length > 2) text = `${names.length} people are typing…`;
  $('typing').textContent = text;
  if (names.length) typingTimer = setTimeout(renderTyping, 1000);
}

function renderPresence() {
  const room = chat?.current;
  const supported = Boolean(chat?.features.presence);
  document.body.dataset.presence = supported ? 'supported' : 'unsupported';
  const online = room?.online ? [...room.online].sort() : null;
  $('online').hidden = !room;
  $('online-count').textContent = online ? `(${online.length})` : '';
  const items = online
    ? online.map((user) => el('li', { class: user === chat.me ? 'me' : null }, user))
    : [el('li', { class: 'hint' }, supported ? 'Checking…' : 'Not available on this server.')];
  $('online-list').replaceChildren(...items);
}

function notice(text) {
  clearTimeout(noticeTimer);
  $('notice').textContent = text;
  noticeTimer = setTimeout(() => {
    $('notice').textContent = '';
  }, 8000);
}

// ---- start

const saved = Credentials.load();
if (saved) start(saved);
else showLogin();
