// The conversation list: what `GET conversations/` answered, kept current by socket frames.

import { h, shortTime, longTime } from './ui.js';

export class Inbox {
  /** `onOpen(id)` is called when a conversation is picked. */
  constructor({ list, empty, filter, onOpen }) {
    this.list = list;
    this.empty = empty;
    this.filter = filter;
    this.onOpen = onOpen;
    this.conversations = new Map();
    this.openId = null;
  }

  /** Replaces the list with a fresh inbox page. */
  load(conversations) {
    this.conversations = new Map(conversations.map((c) => [c.id, c]));
    this.render();
  }

  get(id) {
    return this.conversations.get(id);
  }

  /** Adds or replaces one conversation (`new_conversation`, a transfer, a create). */
  upsert(conversation) {
    this.conversations.set(conversation.id, { ...this.conversations.get(conversation.id), ...conversation });
    this.render();
  }

  /** A stored message arrived: moves its conversation up, counts it unread unless open. */
  onMessage(message) {
    const conversation = this.conversations.get(message.conversation_id);
    if (!conversation) return false;
    conversation.last_message = message;
    conversation.last_message_at = message.created_at;
    conversation.last_message_preview = message.content;
    if (message.sender_type === 'guest' && message.conversation_id !== this.openId) {
      conversation.unread_count = (conversation.unread_count || 0) + 1;
    }
    this.render();
    return true;
  }

  update(id, change) {
    const conversation = this.conversations.get(id);
    if (!conversation) return;
    Object.assign(conversation, change);
    this.render();
  }

  setOpen(id) {
    this.openId = id;
    if (id !== null) this.update(id, { unread_count: 0 });
    else this.render();
  }

  render() {
    const wanted = this.filter.value;
    const shown = [...this.conversations.values()]
      .filter((c) => wanted === 'all' || c.status === wanted)
      .sort((a, b) => String(b.last_message_at).localeCompare(String(a.last_message_at)));
    this.list.replaceChildren(...shown.map((c) => this.item(c)));
    this.empty.hidden = shown.length > 0;
  }

  item(c) {
    const guest = c.guest_info || {};
    const room = guest.room_number ? `Room ${guest.room_number}` : 'No room';
    const last = c.last_message ? (c.last_message.content || `[${c.last_message.message_type}]`) : (c.last_message_preview || '');
    const unread = c.unread_count || 0;
    const label = `${guest.full_name || guest.name || 'Guest'}, ${room}, ${c.department}${c.status !== 'active' ? `, ${c.status}` : ''}` +
      `${unread ? `, ${unread} unread` : ''}: ${last}`;
    return h('li', {},
      h('button', {
        type: 'button', class: 'conversation', 'aria-label': label,
        'aria-current': c.id === this.openId ? 'true' : null,
        dataset: { id: c.id, status: c.status },
        onclick: () => this.onOpen(c.id),
      },
      h('span', { class: 'row' },
        h('span', { class: 'name' }, guest.full_name || guest.name || 'Guest'),
        h('time', { datetime: c.last_message_at, title: longTime(c.last_message_at) }, shortTime(c.last_message_at))),
      h('span', { class: 'row' },
        h('span', { class: 'tags' },
          h('span', { class: 'tag room' }, room),
          h('span', { class: 'tag' }, c.department),
          c.status !== 'active' ? h('span', { class: 'tag closed' }, c.status) : null),
        unread ? h('span', { class: 'badge', 'aria-hidden': 'true' }, String(unread)) : null),
      h('span', { class: 'last' }, last)));
  }
}
