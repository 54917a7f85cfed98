// A staff socket that reconnects by itself (docs/asyncapi.yaml).
//
// API Gateway closes a socket after 10 minutes without a client frame and every socket after
// 2 hours, and a network may drop it at any time. This socket pings every 5 minutes, and when
// it closes without being asked to it opens again after a growing, jittered delay (0.5 s, 1 s,
// 2 s … at most 30 s). Each open after the first is announced as `reconnected`, so the page can
// catch up what was pushed meanwhile through REST (`?after=<last message id>`): pushes to a
// closed socket are not kept.
//
// Events: `frame` (detail: the parsed frame), `state` (detail: {state, retryIn}) with state
// `connecting`, `open`, `waiting` or `stopped`, and `open` (detail: {reconnected}).

const PING_EVERY_MS = 5 * 60 * 1000;
const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 30 * 1000;

export class ChatSocket extends EventTarget {
  constructor(url, token) {
    super();
    this.url = `${url}${url.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`;
    this.ws = null;
    this.attempt = 0;
    this.opened = false;
    this.stopped = true;
    this.timer = null;
    this.pinger = null;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  /** Closes for good (sign-out). */
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.pinger);
    if (this.ws) this.ws.close(1000, 'Signed out');
    this.emit('state', { state: 'stopped' });
  }

  get isOpen() {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends a frame; `false` when the socket is not open (the caller tells the user). */
  send(frame) {
    if (!this.isOpen) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  connect() {
    this.emit('state', { state: 'connecting' });
    const ws = new WebSocket(this.url);
    this.ws = ws;
    ws.addEventListener('open', () => {
      const reconnected = this.opened;
      this.opened = true;
      this.attempt = 0;
      clearInterval(this.pinger);
      this.pinger = setInterval(() => this.send({ type: 'ping' }), PING_EVERY_MS);
      this.emit('state', { state: 'open' });
      this.emit('open', { reconnected });
    });
    ws.addEventListener('message', (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return; // every frame of the protocol is JSON; anything else is ignored
      }
      this.emit('frame', frame);
    });
    ws.addEventListener('close', () => {
      clearInterval(this.pinger);
      if (this.ws !== ws || this.stopped) return;
      const delay = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** this.attempt) * (0.75 + Math.random() / 2);
      this.attempt += 1;
      this.emit('state', { state: 'waiting', retryIn: delay });
      this.timer = setTimeout(() => this.connect(), delay);
    });
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}
