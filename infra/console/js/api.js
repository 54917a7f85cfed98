// The REST side of LobbyBee Chat (docs/api.md §4, docs/openapi.yaml), as a staff member.
// Every call carries `Authorization: Bearer <token>`; errors become ApiError with the API's message.

import { describeError } from './ui.js';

export class ApiError extends Error {
  constructor(status, body) {
    super(describeError(status, body));
    this.status = status;
    this.body = body;
  }
}

export class Api {
  /** `base` is the stack's `RestApiUrl` (`…/api/chat/`). */
  constructor(base, token) {
    this.base = base.endsWith('/') ? base : `${base}/`;
    this.token = token;
  }

  async request(method, path, { json, form, query } = {}) {
    const url = new URL(path, this.base);
    for (const [key, value] of Object.entries(query || {})) {
      if (value !== undefined && value !== null) url.searchParams.set(key, value);
    }
    const headers = { Authorization: `Bearer ${this.token}` };
    let body;
    if (json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(json);
    } else if (form) {
      body = form; // the browser sets the multipart boundary
    }
    let response;
    try {
      response = await fetch(url, { method, headers, body });
    } catch {
      throw new ApiError(0, { error: `Cannot reach ${url.origin} (network error or CORS)` });
    }
    const text = await response.text();
    let parsed = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = { error: text };
    }
    if (!response.ok) throw new ApiError(response.status, parsed);
    return parsed;
  }

  /** The inbox, newest first: the paged envelope's `results` (or a bare array). */
  async conversations(status = 'active') {
    const page = await this.request('GET', 'conversations/', { query: { status, limit: 200 } });
    return Array.isArray(page) ? page : page.results;
  }

  /** `{conversation, messages}`, messages oldest first; `before`/`after` are message ids. */
  conversation(id, { before, after, limit } = {}) {
    return this.request('GET', `conversations/${id}/`, { query: { before, after, limit } });
  }

  close(id) {
    return this.request('POST', 'conversations/close/', { json: { conversation_id: id } });
  }

  transfer(id, department, note) {
    return this.request('POST', 'conversations/transfer/', { json: { conversation_id: id, department, note: note || undefined } });
  }

  assign(id, staffId) {
    return this.request('POST', 'conversations/assign/', { json: { conversation_id: id, staff_id: staffId } });
  }

  /** Uploads a file for a conversation: `{file_url, filename, file_type, …}`. */
  upload(id, file, caption) {
    const form = new FormData();
    form.append('conversation_id', String(id));
    form.append('file', file, file.name);
    if (caption) form.append('caption', caption);
    return this.request('POST', 'upload-media/', { form });
  }

  /**
   * A blob URL for a media link. The stack's own links (`…/media/{key}`) open only with a staff
   * token and answer with a redirect to a short-lived storage URL, so they are fetched here.
   */
  async mediaUrl(link) {
    if (!link.startsWith(this.base)) return link;
    const response = await fetch(link, { headers: { Authorization: `Bearer ${this.token}` } });
    if (!response.ok) throw new ApiError(response.status, null);
    return URL.createObjectURL(await response.blob());
  }
}
