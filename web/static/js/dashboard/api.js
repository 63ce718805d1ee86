// The HTTP APIs the dashboard reads, all same-origin and in Prometheus's
// `{status, data}` shape. Identical requests in flight are shared, so two
// panels (or a panel and a variable) asking the same thing cost one fetch.

const inflight = new Map();

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

async function readAnswer(resp) {
  let body = null;
  const text = await resp.text();
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!resp.ok || (body && body.status === 'error')) {
    const msg = body?.error || body?.message || (text && text.length < 300 ? text.trim() : '') || `HTTP ${resp.status} ${resp.statusText}`;
    throw new ApiError(msg, resp.status);
  }
  if (!body) throw new ApiError(`the server answered ${resp.status} without JSON`, resp.status);
  return body.data;
}

// A request is shared only while its signal is live: a new round aborts the
// old one's signal and must not pick up the promise about to reject.
function shared(key, make, signal) {
  const entry = inflight.get(key);
  if (entry && !entry.signal?.aborted) return entry.p;
  const p = make().finally(() => {
    if (inflight.get(key)?.p === p) inflight.delete(key);
  });
  inflight.set(key, { p, signal });
  return p;
}

function postForm(path, params, signal) {
  const body = new URLSearchParams(params).toString();
  return shared(`POST ${path}?${body}`, () => fetch(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body,
    signal,
    credentials: 'same-origin',
  }).then(readAnswer), signal);
}

function get(path, params, signal) {
  const qs = params instanceof URLSearchParams ? params : new URLSearchParams(params);
  const url = `${path}?${qs}`;
  return shared(`GET ${url}`, () => fetch(url, { signal, credentials: 'same-origin' }).then(readAnswer), signal);
}

/** `POST /api/v1/query_range` → `{resultType, result}`. Times in seconds. */
export function promQueryRange(query, start, end, step, signal) {
  return postForm('/api/v1/query_range', { query, start: String(start), end: String(end), step: String(step) }, signal);
}

/** `POST /api/v1/query` at `time` (seconds). */
export function promQuery(query, time, signal) {
  return postForm('/api/v1/query', { query, time: String(time) }, signal);
}

/** `GET /api/v1/label/{name}/values`, optionally restricted by a series selector. */
export function promLabelValues(name, match, start, end, signal) {
  const p = new URLSearchParams();
  if (match) p.append('match[]', match);
  if (start != null) p.set('start', String(Math.floor(start)));
  if (end != null) p.set('end', String(Math.ceil(end)));
  return get(`/api/v1/label/${encodeURIComponent(name)}/values`, p, signal);
}

/** `GET /api/v1/series?match[]=…`. */
export function promSeries(match, start, end, signal) {
  const p = new URLSearchParams();
  p.append('match[]', match);
  if (start != null) p.set('start', String(Math.floor(start)));
  if (end != null) p.set('end', String(Math.ceil(end)));
  return get('/api/v1/series', p, signal);
}

/** `GET /loki/api/v1/query_range` (times in nanoseconds as strings, newest first). */
export function lokiQueryRange(query, startMs, endMs, { limit = 1000, step, direction = 'backward' } = {}, signal) {
  const p = new URLSearchParams({
    query,
    start: `${Math.floor(startMs)}000000`,
    end: `${Math.ceil(endMs)}000000`,
    limit: String(limit),
    direction,
  });
  if (step) p.set('step', `${step}s`);
  return get('/loki/api/v1/query_range', p, signal);
}

/** `GET /loki/api/v1/label/{name}/values`. */
export function lokiLabelValues(name, startMs, endMs, signal) {
  return get(`/loki/api/v1/label/${encodeURIComponent(name)}/values`, {
    start: `${Math.floor(startMs)}000000`, end: `${Math.ceil(endMs)}000000`,
  }, signal);
}

let targetsPromise = null;
let targetsAt = 0;

/** Active scrape targets, fetched at most every 30 s (the "no data" hint). Never throws. */
export function activeTargets() {
  if (!targetsPromise || Date.now() - targetsAt > 30_000) {
    targetsAt = Date.now();
    targetsPromise = get('/api/v1/targets', { state: 'active' })
      .then((d) => d?.activeTargets || [])
      .catch(() => []);
  }
  return targetsPromise;
}
