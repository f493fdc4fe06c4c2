// The public REST API, called with the browser's session cookie. Same-origin fetches send an
// Origin header on every unsafe method, which is what the API's CSRF check accepts.

export class ApiError extends Error {
  constructor(status, body) {
    super(messageOf(status, body));
    this.status = status;
    this.body = body;
  }
  /** Field errors as {field: "message"} (Authentik's {field: ["message"]}). */
  get fields() {
    const out = {};
    if (this.body && typeof this.body === 'object' && !('detail' in this.body)) {
      for (const [k, v] of Object.entries(this.body)) out[k] = Array.isArray(v) ? v.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join(' ') : String(v);
    }
    return out;
  }
}

function messageOf(status, body) {
  if (body && typeof body === 'object') {
    if (typeof body.detail === 'string') return body.detail;
    const first = Object.entries(body)[0];
    if (first) return `${first[0]}: ${Array.isArray(first[1]) ? first[1].join(' ') : JSON.stringify(first[1])}`;
  }
  return `The server answered ${status}.`;
}

export async function api(method, path, body) {
  const response = await fetch(`/api/v3${path}`, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? { Accept: 'application/json' } : { Accept: 'application/json', 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 401) {
    // The session ended (signed out elsewhere, expired): log in again and come back here.
    location.assign(`/if/flow/default-authentication-flow/?next=${encodeURIComponent(location.pathname + location.hash)}`);
    throw new ApiError(401, { detail: 'Signed out.' });
  }
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const get = (path) => api('GET', path);

/** Every row of a paginated list (up to `max`), 1000 per request. */
export async function getAll(path, max = 10_000) {
  const rows = [];
  const sep = path.includes('?') ? '&' : '?';
  for (let page = 1; rows.length < max; page++) {
    const answer = await get(`${path}${sep}page=${page}&page_size=1000`);
    rows.push(...answer.results);
    if (!answer.pagination.next) break;
  }
  return rows;
}

export const qs = (params) => {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') query.set(k, String(v));
  const text = query.toString();
  return text ? `?${text}` : '';
};
