// Small DOM and formatting helpers shared by the console and the guest simulator.

/** The five departments a hotel may run (docs/api.md §2), in the API's spelling. */
export const DEPARTMENTS = ['Reception', 'Housekeeping', 'Room Service', 'Café', 'Management'];

/**
 * Creates an element: `h('button', {class: 'x', onclick: f}, 'text', child)`.
 * Attributes named `on…` become listeners; `null`/`false` attributes and children are skipped.
 */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

/** `10:42`, or `Nov 24` for another day. */
export function shortTime(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  const today = new Date();
  if (date.toDateString() === today.toDateString()) {
    return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }
  return date.toLocaleDateString([], { month: 'short', day: 'numeric' });
}

/** `24 Nov 2026, 10:42:11` for tooltips and screen readers. */
export function longTime(iso) {
  return iso ? new Date(iso).toLocaleString() : '';
}

/** The message of an API error body (`error`, `detail`, or the first field detail). */
export function describeError(status, body) {
  if (body && typeof body === 'object') {
    const details = body.details && Object.entries(body.details).map(([field, msgs]) => `${field}: ${[].concat(msgs).join(' ')}`);
    if (details && details.length) return `${body.error || 'Invalid data'} (${details.join('; ')})`;
    if (body.error) return body.error;
    if (body.detail) return body.detail;
    if (body.message) return body.message;
  }
  return status ? `HTTP ${status}` : 'Network error';
}

/** The `user_id` claim of a JWT, read without checking it (only to know who "me" is). */
export function tokenUserId(token) {
  try {
    const payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const claims = JSON.parse(atob(payload.padEnd(Math.ceil(payload.length / 4) * 4, '=')));
    return claims.user_id === undefined ? null : String(claims.user_id);
  } catch {
    return null;
  }
}

/** The local gateway's own URLs, for the defaults of the sign-in form. */
export function localUrls() {
  const wsScheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return { api: `${location.origin}/api/chat/`, ws: `${wsScheme}//${location.host}/` };
}
