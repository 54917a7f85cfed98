// The guest simulator: writes as a demo guest and shows what WhatsApp delivered to them.
//
// Everything here goes through the local gateway's local-only endpoints (never part of a
// deployed stack): `/_local/demo` lists the guests, `/_local/guest/say` signs the guest's
// message server-side and hands it to the guest webhook (no secret reaches the browser),
// `/_local/guest/inbox` long-polls what the fake WhatsApp Cloud API accepted for the number, and
// `/_local/guest/status` reports `delivered`/`read` back, as the guest's phone would. A guest
// socket (the public API) shows when staff are typing.

import { h, shortTime, describeError, DEPARTMENTS } from './ui.js';

const $ = (id) => document.getElementById(id);
const RETRY_MS = 2000;

let guests = [];
let current = null; // the picked guest
let generation = 0; // bumps at every pick, ending the previous guest's polling
let socket = null;

boot();

async function boot() {
  $('department').replaceChildren(...DEPARTMENTS.map((d) => h('option', { value: d }, d)));
  let demo;
  try {
    const response = await fetch('/_local/demo');
    if (!response.ok) throw new Error(String(response.status));
    demo = await response.json();
  } catch {
    $('unavailable').hidden = false;
    $('say').hidden = true;
    return;
  }
  guests = demo.guests;
  $('guest').replaceChildren(...guests.map((g) =>
    h('option', { value: g.whatsapp_number }, `${g.name} · room ${g.room_number}${g.active ? '' : ' (stay over)'}`)));
  $('guest').addEventListener('change', pick);
  $('auto-read').addEventListener('change', readAll);
  $('say').addEventListener('submit', (event) => {
    event.preventDefault();
    say();
  });
  $('say-text').addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      say();
    }
  });
  pick();
}

function pick() {
  current = guests.find((g) => g.whatsapp_number === $('guest').value);
  generation += 1;
  $('thread').replaceChildren();
  $('guest-error').textContent = '';
  listen(current, generation);
  poll(current, generation, 0);
}

async function post(path, body) {
  const response = await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const answer = await response.json().catch(() => null);
  if (!response.ok) throw new Error(describeError(response.status, answer));
  return answer;
}

async function say(text = $('say-text').value.trim(), replyId = undefined) {
  if (!text || !current) return;
  const item = bubble({ mine: true, text, at: new Date().toISOString(), status: 'sending' });
  $('thread').append(item);
  scroll();
  try {
    await post('/_local/guest/say', { whatsapp_number: current.whatsapp_number, message: text,
      department: $('department').value, reply_id: replyId });
    if (!replyId) $('say-text').value = '';
    item.dataset.status = 'sent';
    item.querySelector('.status').textContent = '✓';
  } catch (error) {
    item.dataset.status = 'failed';
    item.querySelector('.status').textContent = `failed: ${error.message}`;
  }
}

/** Long-polls what WhatsApp delivered to this guest, from position `after` on. */
async function poll(guest, mine, after) {
  while (mine === generation) {
    let page;
    try {
      const query = new URLSearchParams({ number: guest.whatsapp_number, after, wait: 20 });
      const response = await fetch(`/_local/guest/inbox?${query}`);
      if (!response.ok) throw new Error(String(response.status));
      page = await response.json();
    } catch {
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS)); // the gateway is away
      continue;
    }
    if (mine !== generation) return;
    for (const message of page.messages) received(message);
    after = page.next;
  }
}

/** A message WhatsApp delivered: shown, then reported delivered (and read) by the "phone". */
async function received({ wamid, status, whatsapp }) {
  const { text, buttons } = describe(whatsapp);
  const item = bubble({ mine: false, text, at: new Date().toISOString(), status, wamid, buttons });
  $('thread').append(item);
  scroll();
  $('guest-typing').textContent = '';
  if (status === 'sent') await report(item, wamid, 'delivered');
  if ($('auto-read').checked && item.dataset.status !== 'read') await report(item, wamid, 'read');
}

/** The phone opens the chat: every reply not read yet is reported read. */
async function readAll() {
  if (!$('auto-read').checked) return;
  for (const item of $('thread').querySelectorAll('.message.staff')) {
    if (item.dataset.wamid && item.dataset.status !== 'read') await report(item, item.dataset.wamid, 'read');
  }
}

async function report(item, wamid, status) {
  try {
    await post('/_local/guest/status', { wamid, status });
    item.dataset.status = status;
    item.querySelector('.status').textContent = status;
  } catch (error) {
    $('guest-error').textContent = `Could not report ${status}: ${error.message}`;
  }
}

/** The text and reply buttons of a Cloud API message body. */
function describe(body) {
  switch (body.type) {
    case 'text':
      return { text: body.text.body, buttons: [] };
    case 'interactive':
      return { text: body.interactive.body.text,
        buttons: body.interactive.action.buttons.map((b) => ({ id: b.reply.id, title: b.reply.title })) };
    case 'template': {
      const button = (body.template.components || []).find((c) => c.type === 'button');
      const payload = button && button.parameters[0] && button.parameters[0].payload;
      return { text: `[template ${body.template.name}]`, buttons: payload ? [{ id: payload, title: 'Continue' }] : [] };
    }
    default: {
      const media = body[body.type] || {};
      return { text: `[${body.type}] ${media.caption || media.filename || ''}`.trim(), buttons: [] };
    }
  }
}

function bubble({ mine, text, at, status, wamid, buttons = [] }) {
  return h('li', { class: `message ${mine ? 'guest-mine' : 'staff'}`, dataset: { status, wamid: wamid || null } },
    h('p', { class: 'content' }, text),
    buttons.map((b) => h('button', { type: 'button', class: 'reply-button', onclick: () => say(b.title, b.id) }, b.title)),
    h('span', { class: 'meta' }, h('time', { datetime: at }, shortTime(at)), h('span', { class: 'status' }, status)));
}

/** A guest socket for the staff's typing indicator. */
function listen(guest, mine) {
  socket?.close();
  socket = null;
  if (!guest.guest_token) return;
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const query = new URLSearchParams({ whatsapp_number: guest.whatsapp_number, guest_token: guest.guest_token });
  const ws = new WebSocket(`${scheme}//${location.host}/?${query}`);
  socket = ws;
  ws.addEventListener('message', (event) => {
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch {
      return;
    }
    if (frame.type === 'typing') $('guest-typing').textContent = frame.data.is_typing ? `${frame.data.user_name} is typing…` : '';
  });
  ws.addEventListener('close', () => {
    if (mine === generation && socket === ws) setTimeout(() => mine === generation && listen(guest, mine), RETRY_MS);
  });
}

function scroll() {
  $('thread').scrollTop = $('thread').scrollHeight;
}
