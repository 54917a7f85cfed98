// The open conversation: its history (newest at the bottom, older pages loaded on scrolling up),
// the composer (text, images, typing), delivery ticks, and the actions (close, transfer, assign,
// reopen).
//
// A staff member's own message is not pushed back to the socket that sent it: the sender gets an
// `acknowledgment` `received` with the stored id, exactly one per `text`/`media` frame and in
// order. So a sent message is shown at once as pending, and the next `received` names it.

import { h, shortTime, longTime, DEPARTMENTS } from './ui.js';

const PAGE = 30;
const QUIET_MS = 2 * 60 * 1000; // the dashboard offers "Reopen" after two quiet minutes
const TYPING_IDLE_MS = 4000;
const TYPING_SHOWN_MS = 6000;
const RANK = { queued: 0, sent: 1, delivered: 2, read: 3, failed: 4 };
const TICKS = { queued: '🕓', sent: '✓', delivered: '✓✓', read: '✓✓', failed: '!' };
const WINDOW_ERROR = 'Outside the 24-hour WhatsApp window';

export class Chat {
  constructor({ api, socket, me, inbox, elements }) {
    Object.assign(this, { api, socket, me, inbox, el: elements });
    this.id = null;
    this.conversation = null;
    this.messages = new Map(); // id (or pending key) → message, open conversation only
    this.pending = []; // sent frames awaiting their `received`, in order, any conversation
    this.early = new Map(); // message id → delivery status that came before the message
    this.hasOlder = false;
    this.loadingOlder = false;
    this.typingSentAt = 0;
    this.typingTimer = null;
    this.typingShown = null;
    this.pendingKey = 0;
    this.wire();
    setInterval(() => this.renderHead(), 15000);
  }

  wire() {
    const { el } = this;
    el.transferDepartment.replaceChildren(...DEPARTMENTS.map((d) => h('option', { value: d }, d)));
    el.list.addEventListener('scroll', () => {
      if (el.list.scrollTop < 40) this.loadOlder();
    });
    el.composer.addEventListener('submit', (event) => {
      event.preventDefault();
      this.sendText();
    });
    el.text.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.sendText();
      }
    });
    el.text.addEventListener('input', () => this.typing(el.text.value.trim() !== ''));
    el.file.addEventListener('change', () => this.sendImage());
    el.close.addEventListener('click', () => this.act(async () => {
      await this.api.close(this.id);
      return { conversation: { id: this.id, status: 'closed' } };
    }, 'closed'));
    el.reopen.addEventListener('click', () => this.frame({ type: 'reopen-temporary', conversation_id: this.id }));
    el.transferForm.addEventListener('submit', (event) => {
      event.preventDefault();
      const to = el.transferDepartment.value;
      this.act(() => this.api.transfer(this.id, to, el.transferNote.value.trim()), `transferred to ${to}`);
      el.transferBox.open = false;
    });
    el.assignForm.addEventListener('submit', (event) => {
      event.preventDefault();
      this.assign(el.assignStaff.value.trim() || null);
    });
    el.assignMe.addEventListener('click', () => this.assign(this.me.userId));
  }

  isOpen(id) {
    return this.id === id;
  }

  // ---- opening and paging --------------------------------------------------------------

  async open(id) {
    this.id = id;
    this.messages.clear();
    this.el.list.replaceChildren();
    this.el.typing.textContent = '';
    this.showError('');
    this.conversation = this.inbox.get(id) || null;
    this.renderHead();
    try {
      const page = await this.api.conversation(id, { limit: PAGE });
      if (this.id !== id) return;
      this.conversation = page.conversation;
      this.inbox.upsert({ ...page.conversation, unread_count: 0 });
      this.hasOlder = page.messages.length === PAGE;
      page.messages.forEach((m) => this.add(m));
      this.renderHead();
      this.scrollToBottom();
      this.markRead();
    } catch (error) {
      this.showError(`Could not load the conversation: ${error.message}`);
    }
  }

  close() {
    this.id = null;
    this.conversation = null;
  }

  async loadOlder() {
    if (!this.hasOlder || this.loadingOlder || this.id === null) return;
    const oldest = Math.min(...[...this.messages.values()].filter((m) => typeof m.id === 'number').map((m) => m.id));
    if (!Number.isFinite(oldest)) return;
    this.loadingOlder = true;
    const id = this.id;
    try {
      const page = await this.api.conversation(id, { before: oldest, limit: PAGE });
      if (this.id !== id) return;
      this.hasOlder = page.messages.length === PAGE;
      const list = this.el.list;
      const fromBottom = list.scrollHeight - list.scrollTop;
      page.messages.slice().reverse().forEach((m) => this.add(m, { prepend: true }));
      list.scrollTop = list.scrollHeight - fromBottom; // keep what was on screen in place
    } catch (error) {
      this.showError(`Could not load older messages: ${error.message}`);
    } finally {
      this.loadingOlder = false;
    }
  }

  /** After a reconnect: whatever the open conversation got meanwhile (`?after=`). */
  async catchUp() {
    if (this.id === null) return;
    const id = this.id;
    const known = [...this.messages.values()].filter((m) => typeof m.id === 'number').map((m) => m.id);
    const after = known.length ? Math.max(...known) : 0;
    try {
      const page = await this.api.conversation(id, { after, limit: 200 });
      if (this.id !== id) return;
      this.conversation = page.conversation;
      page.messages.forEach((m) => this.onMessage(m));
      this.renderHead();
    } catch (error) {
      this.showError(`Could not catch up: ${error.message}`);
    }
  }

  /** Sends from before a reconnect were never acknowledged: their fate is unknown. */
  forgetPending() {
    for (const entry of this.pending.splice(0)) {
      entry.message.failure = 'The connection dropped before the server confirmed this message; it may not have been sent.';
      this.refresh(entry.message);
    }
  }

  // ---- frames --------------------------------------------------------------------------

  onMessage(message) {
    if (message.conversation_id !== this.id) return;
    if (this.messages.has(message.id)) {
      this.refresh(Object.assign(this.messages.get(message.id), message));
      return;
    }
    // My own message seen through catch-up replaces its unconfirmed copy.
    const twin = [...this.messages.values()].find((m) => m.pending && m.failure && m.sender_id === message.sender_id &&
      m.content === message.content);
    if (twin) this.remove(twin);
    this.add(message);
    if (message.sender_type === 'guest' && !document.hidden) this.markRead();
    if (message.sender_type === 'guest') this.showTyping(null);
  }

  onAck(frame) {
    if (frame.status === 'received') {
      const entry = this.pending.shift();
      if (!entry) return;
      const message = entry.message;
      if (this.messages.get(message.key) === message) this.messages.delete(message.key);
      Object.assign(message, { id: frame.message_id, pending: false, created_at: frame.timestamp });
      message.delivery_status = this.early.get(frame.message_id) || 'queued';
      this.early.delete(frame.message_id);
      if (message.conversation_id === this.id) {
        this.messages.set(message.id, message);
        this.refresh(message);
      }
    } else if (frame.status === 'reopen_button_sent') {
      this.showError('');
      this.notice('The guest was asked on WhatsApp whether to continue.');
    }
  }

  onDelivery({ message_id: id, status }) {
    const message = this.messages.get(id);
    if (!message) {
      this.early.set(id, status);
      return;
    }
    if (RANK[status] > RANK[message.delivery_status ?? 'queued'] || status === 'failed') {
      message.delivery_status = status;
      this.refresh(message);
    }
  }

  onReadReceipt({ conversation_id: id, message_ids: ids, reader }) {
    if (id !== this.id) return;
    for (const messageId of ids) {
      const message = this.messages.get(messageId);
      if (!message) continue;
      if (reader === 'guest') this.onDelivery({ message_id: messageId, status: 'read' });
      else message.is_read = true;
    }
  }

  onTyping({ conversation_id: id, user_id: userId, user_name: name, is_typing: typing }) {
    if (id !== this.id || userId === this.me.userId) return;
    this.showTyping(typing ? name : null);
  }

  onError(message) {
    if (message === WINDOW_ERROR) {
      const mine = [...this.messages.values()].filter((m) => m.sender_id === this.me.userId && !m.pending);
      const last = mine[mine.length - 1];
      if (last) {
        last.failure = 'Not sent: the guest has not written in the last 24 hours (use Reopen).';
        this.refresh(last);
      }
    } else if (this.pending.length && !['Invalid message type', 'Invalid JSON format'].includes(message)) {
      // A refused text/media frame gets an error instead of its acknowledgment.
      const entry = this.pending.shift();
      entry.message.failure = message;
      entry.message.delivery_status = 'failed';
      this.refresh(entry.message);
    }
    this.showError(message);
  }

  onConversation(change) {
    if (!this.conversation || change.id !== this.id) return;
    Object.assign(this.conversation, change);
    this.renderHead();
  }

  // ---- sending ---------------------------------------------------------------------------

  frame(frame) {
    if (!this.socket.send(frame)) {
      this.showError('Not connected: waiting for the connection to come back.');
      return false;
    }
    return true;
  }

  sendText() {
    const content = this.el.text.value.trim();
    if (!content || this.id === null) return;
    if (this.sendPending({ type: 'text', conversation_id: this.id, content }, { message_type: 'text', content })) {
      this.el.text.value = '';
      this.typing(false);
    }
  }

  async sendImage() {
    const file = this.el.file.files[0];
    this.el.file.value = '';
    if (!file || this.id === null) return;
    const caption = this.el.text.value.trim();
    const id = this.id;
    try {
      const uploaded = await this.api.upload(id, file, caption);
      const frame = { type: 'media', conversation_id: id, file_url: uploaded.file_url, filename: uploaded.filename,
        file_type: uploaded.file_type, caption };
      const shown = { message_type: uploaded.file_type, content: caption, media_url: uploaded.file_url,
        media_filename: uploaded.filename, preview: URL.createObjectURL(file) };
      if (this.sendPending(frame, shown)) this.el.text.value = '';
    } catch (error) {
      this.showError(`Upload failed: ${error.message}`);
    }
  }

  sendPending(frame, shown) {
    if (!this.frame(frame)) return false;
    this.pendingKey += 1;
    const key = `pending-${this.pendingKey}`;
    const message = { key, id: key, pending: true, conversation_id: frame.conversation_id, sender_type: 'staff',
      sender_id: this.me.userId, sender_name: this.me.name, delivery_status: null, created_at: new Date().toISOString(),
      media_url: null, media_filename: null, ...shown };
    this.pending.push({ message });
    this.add(message);
    this.inbox.onMessage(message);
    this.scrollToBottom();
    return true;
  }

  typing(active) {
    if (this.id === null) return;
    clearTimeout(this.typingTimer);
    if (active) {
      if (Date.now() - this.typingSentAt > TYPING_IDLE_MS - 1000) {
        this.socket.send({ type: 'typing', conversation_id: this.id, is_typing: true });
        this.typingSentAt = Date.now();
      }
      this.typingTimer = setTimeout(() => this.typing(false), TYPING_IDLE_MS);
    } else if (this.typingSentAt) {
      this.socket.send({ type: 'typing', conversation_id: this.id, is_typing: false });
      this.typingSentAt = 0;
    }
  }

  markRead() {
    if (this.id === null) return;
    const unread = [...this.messages.values()].some((m) => m.sender_type === 'guest' && !m.is_read);
    if (unread) this.socket.send({ type: 'mark_read', conversation_id: this.id });
    this.inbox.update(this.id, { unread_count: 0 });
  }

  async act(call, done) {
    try {
      this.showError('');
      const answer = await call();
      if (answer && answer.conversation) {
        this.onConversation(answer.conversation);
        this.inbox.upsert(answer.conversation);
      }
      this.notice(`Conversation ${done}.`);
    } catch (error) {
      this.showError(error.message);
    }
  }

  async assign(staffId) {
    try {
      const answer = await this.api.assign(this.id, staffId);
      this.onConversation(answer.conversation);
      this.inbox.upsert(answer.conversation);
      this.el.assignBox.open = false;
      this.notice(staffId ? `Assigned to ${staffId}.` : 'Unassigned.');
    } catch (error) {
      this.showError(error.message);
    }
  }

  // ---- rendering -----------------------------------------------------------------------

  renderHead() {
    const c = this.conversation;
    if (!c) return;
    const guest = c.guest_info || {};
    this.el.title.textContent = guest.full_name || guest.name || 'Guest';
    const parts = [guest.room_number ? `Room ${guest.room_number}` : null, c.department, guest.whatsapp_number,
      c.status !== 'active' ? c.status : null, c.assigned_to ? `assigned to ${c.assigned_to}` : null];
    this.el.subtitle.textContent = parts.filter(Boolean).join(' · ');
    const active = c.status === 'active';
    const quiet = Date.now() - new Date(c.last_message_at).getTime() > QUIET_MS;
    this.el.reopen.hidden = !(active && quiet && c.conversation_type === 'service');
    for (const control of [this.el.close, this.el.transferBox, this.el.assignBox]) control.hidden = !active;
    this.el.composer.hidden = !active;
    this.el.closedNote.hidden = active;
  }

  add(message, { prepend = false } = {}) {
    this.messages.set(message.id, message);
    message.el = this.render(message);
    if (prepend) this.el.list.prepend(message.el);
    else {
      const nearBottom = this.el.list.scrollHeight - this.el.list.scrollTop - this.el.list.clientHeight < 120;
      this.el.list.append(message.el);
      if (nearBottom || message.sender_type !== 'guest') this.scrollToBottom();
    }
  }

  remove(message) {
    this.messages.delete(message.id);
    message.el?.remove();
  }

  refresh(message) {
    if (!message.el) return;
    const fresh = this.render(message);
    message.el.replaceWith(fresh);
    message.el = fresh;
  }

  render(m) {
    const status = m.pending ? (m.failure ? 'failed' : 'sending') : m.delivery_status;
    const statusText = m.failure ? `failed: ${m.failure}` : status === 'failed' ? 'failed: WhatsApp did not take it' : status;
    return h('li', { class: `message ${m.sender_type}`, dataset: { id: m.id, status: status || '' } },
      m.sender_type === 'system' ? null : h('span', { class: 'sender' }, m.sender_name),
      this.media(m),
      m.content ? h('p', { class: 'content' }, m.content) : null,
      h('span', { class: 'meta' },
        h('time', { datetime: m.created_at, title: longTime(m.created_at) }, shortTime(m.created_at)),
        m.sender_type === 'staff' && status
          ? h('span', { class: `ticks ${status}`, role: 'img', 'aria-label': `Delivery: ${statusText}`, title: statusText },
            status === 'sending' ? '…' : TICKS[status] || '')
          : null,
        m.sender_type === 'staff' && status ? h('span', { class: `status ${status}` }, statusText) : null));
  }

  media(m) {
    if (!m.media_url && !m.preview) return null;
    if (m.message_type !== 'image') return h('p', { class: 'file' }, `📎 ${m.media_filename || m.message_type}`);
    const img = h('img', { class: 'image', alt: m.content || m.media_filename || 'Image', src: m.preview || null });
    if (!m.preview) {
      this.api.mediaUrl(m.media_url).then((url) => { img.src = url; }, () => {
        img.replaceWith(h('p', { class: 'file' }, `🖼 ${m.media_filename || 'image'} (cannot be shown here)`));
      });
    }
    return img;
  }

  showTyping(name) {
    clearTimeout(this.typingShown);
    this.el.typing.textContent = name ? `${name} is typing…` : '';
    if (name) this.typingShown = setTimeout(() => this.showTyping(null), TYPING_SHOWN_MS);
  }

  showError(text) {
    this.el.error.textContent = text;
  }

  notice(text) {
    this.el.typing.textContent = text;
  }

  scrollToBottom() {
    this.el.list.scrollTop = this.el.list.scrollHeight;
  }
}
