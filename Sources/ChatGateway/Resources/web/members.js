// The members panel of the room shown: its kind and title, the members with their roles, a
// "Message" button that opens a DM, and for owners and moderators the moderation controls
// (invite, kick, mute, ban, unban; owners also set roles). The server decides: the controls
// only spare people requests that would be refused, and refusals are shown as notices.

import { el } from './util.js';

const durations = [
  ['600000', '10 minutes'],
  ['3600000', '1 hour'],
  ['86400000', '1 day'],
  ['604800000', '1 week'],
  ['', 'forever (ban only)'],
];
const roles = ['member', 'moderator', 'owner'];
const kindNames = { public: 'Public room', private: 'Private room', dm: 'Direct messages' };

export class MembersPanel {
  /** `summaryCount` and `body` are elements of the page; `notice(text)` shows a status line. */
  constructor({ count, body, notice }) {
    this.count = count;
    this.body = body;
    this.notice = notice;
    this.duration = '3600000';
    this.chat = null;
    this.room = null;
    /** What the panel shows, to skip redrawing the same (a redraw replaces the buttons under the pointer). */
    this.shown = null;
    // The forms are made once and moved between redraws: what is typed in them stays.
    this.moderationForm = this.#moderationForm();
    this.directForm = this.#directForm();
  }

  render(chat, room) {
    this.chat = chat;
    this.room = room;
    if (!chat || !room) {
      this.shown = null;
      this.count.textContent = '';
      this.body.replaceChildren();
      return;
    }
    const shown = JSON.stringify([chat.me, room.name, room.kind, room.title, room.peer, room.members, room.membersError, Boolean(room.removed), chat.features.members]);
    if (shown === this.shown) return;
    this.shown = shown;
    const parts = [];
    if (room.removed) {
      parts.push(el('p', { class: 'hint' }, 'You are no longer in this room.'));
    } else if (!chat.features.members) {
      parts.push(el('p', { class: 'hint' }, 'Not available on this server.'));
    } else if (room.membersError) {
      parts.push(el('p', { class: 'error', 'data-testid': 'members-error' }, room.membersError));
    } else if (!room.members) {
      parts.push(el('p', { class: 'hint' }, 'Checking…'));
    } else {
      parts.push(...this.#list(chat, room));
    }
    this.count.textContent = room.members && !room.removed ? `(${room.members.length})` : '';
    parts.push(this.directForm);
    const focused = this.body.contains(document.activeElement) ? document.activeElement : null;
    this.body.replaceChildren(...parts);
    if (focused?.isConnected) focused.focus();
  }

  #list(chat, room) {
    const mine = room.myRole;
    const moderates = !room.removed && (mine === 'owner' || mine === 'moderator');
    const isDirect = room.kind === 'dm';
    const about = el(
      'p',
      { class: 'room-kind', 'data-testid': 'room-kind', dataset: { kind: room.kind ?? '' } },
      isDirect && room.peer ? `Direct messages with ${room.peer}` : kindNames[room.kind] ?? 'Room',
      room.title ? ` · ${room.title}` : '',
      mine ? ` · you are ${mine === 'owner' ? 'an owner' : `a ${mine}`}` : '',
    );
    const sorted = [...room.members].sort((a, b) => roles.indexOf(b.role) - roles.indexOf(a.role) || a.user.localeCompare(b.user));
    const items = sorted.map((member) => this.#member(chat, room, member, mine, moderates && !isDirect));
    const list = el('ul', { class: 'member-list', 'data-testid': 'member-list' }, ...items);
    if (!items.length) {
      list.append(el('li', { class: 'hint' }, room.kind === 'public' ? 'Anyone may join this room; nobody is listed as a member.' : 'No members.'));
    }
    const parts = [about, list];
    if (moderates && !isDirect) parts.push(this.moderationForm);
    return parts;
  }

  #member(chat, room, member, mine, moderates) {
    const self = member.user === chat.me;
    // Moderators act on members (and visitors); owners on anyone: the server's rule, mirrored
    // only to hide buttons that would be refused.
    const canAct = moderates && !self && (mine === 'owner' || member.role === 'member');
    const act = (op, fields) => async () => {
      const error = await chat.moderate(room, op, member.user, fields?.() ?? {});
      if (error) this.notice(error);
    };
    const buttons = [];
    if (!self && room.kind !== 'dm') {
      buttons.push(el('button', { type: 'button', class: 'link', 'data-testid': 'member-dm', onclick: async () => {
        const error = await chat.openDirect(member.user);
        if (error) this.notice(error);
      } }, 'Message'));
    }
    if (canAct) {
      buttons.push(
        el('button', { type: 'button', class: 'link danger', 'data-testid': 'member-kick', onclick: act('kick') }, 'Kick'),
        el('button', { type: 'button', class: 'link', 'data-testid': 'member-mute', onclick: async () => {
          if (!this.duration) return this.notice('A mute needs a duration: pick one below.');
          await act('mute', () => ({ until: Date.now() + Number(this.duration) }))();
        } }, 'Mute'),
        el('button', { type: 'button', class: 'link danger', 'data-testid': 'member-ban', onclick: act('ban', () => this.#banFields()) }, 'Ban'),
      );
    }
    let role = el('span', { class: `role role-${member.role}`, 'data-testid': 'member-role' }, member.role);
    if (mine === 'owner' && !self && room.kind !== 'dm' && !room.removed) {
      const select = el('select', { 'aria-label': `Role of ${member.user}`, 'data-testid': 'member-role-select' },
        ...roles.map((name) => el('option', { value: name, selected: name === member.role }, name)));
      select.addEventListener('change', async () => {
        const error = await chat.moderate(room, 'role', member.user, { role: select.value });
        if (error) {
          this.notice(error);
          select.value = member.role;
        }
      });
      role = el('span', { class: 'role' }, el('span', { class: 'visually-hidden', 'data-testid': 'member-role' }, member.role), select);
    }
    return el(
      'li',
      { class: self ? 'member me' : 'member', 'data-testid': 'member', dataset: { user: member.user, role: member.role } },
      el('span', { class: 'member-name' }, member.user),
      ' ',
      role,
      buttons.length ? el('span', { class: 'member-actions' }, ...buttons) : null,
    );
  }

  #banFields() {
    return this.duration ? { until: Date.now() + Number(this.duration) } : {};
  }

  /** Invite, ban or unban by user id (someone not in the list: a visitor, a banned user). */
  #moderationForm() {
    const user = el('input', { id: 'moderate-user', 'data-testid': 'moderate-user', maxlength: '128', autocomplete: 'off', spellcheck: 'false', placeholder: 'user id' });
    const duration = el('select', { id: 'moderate-duration', 'data-testid': 'moderate-duration' },
      ...durations.map(([value, label]) => el('option', { value, selected: value === this.duration }, label)));
    duration.addEventListener('change', () => {
      this.duration = duration.value;
    });
    const run = (op, fields) => async () => {
      const name = user.value.trim();
      if (!name) return this.notice('Type a user id first.');
      if (!this.chat || !this.room) return;
      const error = await this.chat.moderate(this.room, op, name, fields?.() ?? {});
      if (error) this.notice(error);
      else {
        user.value = '';
        this.notice(`${op === 'invite' ? 'Invited' : op === 'ban' ? 'Banned' : 'Unbanned'} ${name}.`);
      }
    };
    const form = el(
      'form',
      { class: 'moderate stack', novalidate: true },
      el('label', { for: 'moderate-user' }, 'Invite or ban a user'),
      user,
      el(
        'div',
        { class: 'row' },
        el('button', { type: 'submit', 'data-testid': 'moderate-invite' }, 'Invite'),
        el('button', { type: 'button', class: 'secondary', 'data-testid': 'moderate-ban', onclick: run('ban', () => this.#banFields()) }, 'Ban'),
        el('button', { type: 'button', class: 'secondary', 'data-testid': 'moderate-unban', onclick: run('unban') }, 'Unban'),
      ),
      el('label', { for: 'moderate-duration' }, 'Mute and ban for'),
      duration,
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      run('invite')();
    });
    return form;
  }

  /** Opens a DM by user id: people who are not in this room's list. */
  #directForm() {
    const user = el('input', { id: 'dm-user', 'data-testid': 'dm-user', maxlength: '128', autocomplete: 'off', spellcheck: 'false', placeholder: 'user id' });
    const form = el(
      'form',
      { class: 'direct stack', novalidate: true },
      el('label', { for: 'dm-user' }, 'Message someone'),
      el('div', { class: 'row' }, user, el('button', { type: 'submit', 'data-testid': 'dm-open' }, 'Open')),
    );
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const name = user.value.trim();
      if (!name) return this.notice('Type a user id first.');
      if (!this.chat) return;
      const error = await this.chat.openDirect(name);
      if (error) this.notice(error);
      else user.value = '';
    });
    return form;
  }
}
