// The staff console: signs in (a local demo member, or any stack's URLs and a token), loads the
// inbox over REST, listens on one staff socket and hands each frame to the list and the open
// conversation. After a reconnect it reloads the list and catches the open conversation up.

import { Api } from './api.js';
import { ChatSocket } from './socket.js';
import { Inbox } from './inbox.js';
import { Chat } from './chat.js';
import { h, localUrls, tokenUserId } from './ui.js';

const $ = (id) => document.getElementById(id);
const SESSION_KEY = 'lobbybee-console-session';

let session = null; // {api, ws, token, name, userId}
let socket = null;
let inbox = null;
let chat = null;

boot();

async function boot() {
  const urls = localUrls();
  $('api-url').value = urls.api;
  $('ws-url').value = urls.ws;
  $('token-login').addEventListener('submit', (event) => {
    event.preventDefault();
    const token = $('token').value.trim();
    start({ api: $('api-url').value.trim(), ws: $('ws-url').value.trim(), token, name: null });
  });
  $('sign-out').addEventListener('click', signOut);
  $('toggle-guest').addEventListener('click', toggleGuestPane);
  $('back').addEventListener('click', () => showChat(false));
  const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) || 'null');
  await offerDemo(urls);
  if (saved) start(saved);
}

/** The local gateway lists its demo staff with fresh tokens (`GET /_local/demo`, local only). */
async function offerDemo(urls) {
  let demo;
  try {
    const response = await fetch('/_local/demo');
    if (!response.ok) return;
    demo = await response.json();
  } catch {
    return;
  }
  const select = $('demo-staff');
  select.replaceChildren(...demo.staff.map((s) =>
    h('option', { value: s.user_id }, `${s.name} · ${s.user_type} (${s.departments.join(', ')})`)));
  $('demo-login').hidden = false;
  $('demo-login').addEventListener('submit', (event) => {
    event.preventDefault();
    const member = demo.staff.find((s) => s.user_id === select.value);
    start({ api: urls.api, ws: urls.ws, token: member.token, name: member.name, userId: member.user_id });
  });
  $('toggle-guest').hidden = false;
}

async function start(chosen) {
  session = { ...chosen, userId: chosen.userId || tokenUserId(chosen.token) };
  session.name = session.name || `Staff ${session.userId ?? ''}`.trim();
  const api = new Api(session.api, session.token);
  $('login-error').textContent = '';
  let conversations;
  try {
    conversations = await api.conversations($('status-filter').value);
  } catch (error) {
    $('login-error').textContent = `Sign-in failed: ${error.message}`;
    sessionStorage.removeItem(SESSION_KEY);
    return;
  }
  sessionStorage.setItem(SESSION_KEY, JSON.stringify(chosen));
  $('login').hidden = true;
  $('app').hidden = false;
  $('sign-out').hidden = false;
  $('me').textContent = session.name;

  socket = new ChatSocket(session.ws, session.token);
  inbox = new Inbox({ list: $('conversations'), empty: $('inbox-empty'), filter: $('status-filter'), onOpen: open });
  chat = new Chat({
    api, socket, inbox, me: { userId: session.userId, name: session.name },
    elements: {
      list: $('messages'), title: $('chat-title'), subtitle: $('chat-subtitle'), typing: $('typing'),
      error: $('chat-error'), composer: $('composer'), text: $('composer-text'), file: $('composer-file'),
      close: $('close-conversation'), reopen: $('reopen'), transferBox: $('transfer-box'),
      transferForm: $('transfer-form'), transferDepartment: $('transfer-department'),
      transferNote: $('transfer-note'), assignBox: $('assign-box'), assignForm: $('assign-form'),
      assignStaff: $('assign-staff'), assignMe: $('assign-me'), closedNote: $('closed-note'),
    },
  });
  inbox.load(conversations);
  $('status-filter').addEventListener('change', () => reloadInbox(api));
  socket.addEventListener('frame', (event) => onFrame(event.detail, api));
  socket.addEventListener('state', (event) => showConnection(event.detail));
  socket.addEventListener('open', async (event) => {
    if (!event.detail.reconnected) return;
    chat.forgetPending();
    await reloadInbox(api);
    await chat.catchUp();
  });
  socket.start();
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden) chat.markRead();
  });
}

async function reloadInbox(api) {
  try {
    inbox.load(await api.conversations($('status-filter').value));
    if (chat.id !== null) inbox.setOpen(chat.id);
  } catch (error) {
    chat.showError(`Could not load the conversations: ${error.message}`);
  }
}

function open(id) {
  inbox.setOpen(id);
  showChat(true);
  chat.open(id);
  $('composer-text').focus();
}

function onFrame(frame, api) {
  switch (frame.type) {
    case 'message':
      if (!inbox.onMessage(frame.data)) reloadInbox(api); // a conversation this list has not seen
      chat.onMessage(frame.data);
      if (chat.isOpen(frame.data.conversation_id)) chat.onConversation({ id: chat.id, last_message_at: frame.data.created_at });
      break;
    case 'acknowledgment':
      chat.onAck(frame);
      if (frame.status === 'marked_read') inbox.update(frame.conversation_id, { unread_count: 0 });
      if (frame.status === 'conversation_closed') closed(frame.conversation_id);
      break;
    case 'new_conversation':
      inbox.upsert(frame.data);
      break;
    case 'conversation_update':
      if (frame.data.type === 'closed') closed(frame.data.conversation_id);
      else if (frame.data.type === 'assigned') {
        inbox.update(frame.data.conversation_id, { assigned_to: frame.data.assigned_to });
        chat.onConversation({ id: frame.data.conversation_id, assigned_to: frame.data.assigned_to });
      } else reloadInbox(api); // transferred: the list decides whether it is still ours
      if (frame.data.type === 'transferred') chat.onConversation({ id: frame.data.conversation_id, department: frame.data.to });
      break;
    case 'close_conversation':
      closed(frame.conversation_id);
      break;
    case 'typing':
      chat.onTyping(frame.data);
      break;
    case 'read_receipt':
      chat.onReadReceipt(frame.data);
      break;
    case 'delivery_status':
      chat.onDelivery(frame.data);
      break;
    case 'error':
      chat.onError(frame.message);
      break;
    default:
      break; // user_status, subscribed, unsubscribed, pong
  }
}

function closed(id) {
  inbox.update(id, { status: 'closed' });
  chat.onConversation({ id, status: 'closed' });
}

function showConnection({ state, retryIn }) {
  const text = {
    connecting: 'Connecting…',
    open: 'Live',
    waiting: `Reconnecting in ${Math.ceil((retryIn || 0) / 1000)} s…`,
    stopped: 'Signed out',
  }[state];
  const pill = $('connection');
  pill.textContent = text;
  pill.dataset.state = state;
}

function showChat(shown) {
  $('app').classList.toggle('chat-open', shown);
  $('chat').hidden = !shown;
  $('no-chat').hidden = shown;
  if (!shown) {
    chat.close();
    inbox.setOpen(null);
  }
}

function toggleGuestPane() {
  const pane = $('guest-pane');
  const shown = pane.hidden;
  if (shown && !$('guest-frame').src) $('guest-frame').src = 'guest?embedded=1';
  pane.hidden = !shown;
  $('app').classList.toggle('with-guest', shown);
  $('toggle-guest').setAttribute('aria-pressed', String(shown));
}

function signOut() {
  socket?.stop();
  sessionStorage.removeItem(SESSION_KEY);
  location.reload();
}
