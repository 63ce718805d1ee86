// The logs page over its server-rendered first page: the histogram narrows
// the range (click a bar, or drag across bars), "Older lines" pages in
// place, a line shows the lines around it, a request id's errors come to
// the top, live tail prepends new lines, and the time picker's changes and
// refresh ticks redraw in place. Lines are drawn in the shapes the server
// draws (log_view.rs): same classes, same order of fields.

import { errorMessage } from './app.js';
import { getRange, setRange } from './timerange.js';

const PAGE_LINES = 100;
const BUCKETS = 60;
const CONTEXT_LINES = 20;
/** Lines the page keeps while tailing; the oldest go first. */
const TAIL_CAP = 500;
const LEVELS = ['debug', 'info', 'warning', 'error', 'critical'];

const main = document.getElementById('main');
const results = document.getElementById('logs-results');
const list = document.getElementById('logs-lines');
const svg = document.getElementById('logs-histogram');
const histogramBox = document.getElementById('logs-histogram-box');
const legend = document.getElementById('logs-legend');
const errorBox = document.getElementById('logs-error');
const emptyBox = document.getElementById('logs-empty');
const countBox = document.getElementById('logs-count');
const olderLink = document.getElementById('logs-older');
const form = document.getElementById('logs-form');

const pageUrl = new URL(location.href);
const param = (k) => (pageUrl.searchParams.get(k) || '').trim();
const search = {
  q: param('q'),
  logql: param('logql'),
  service: param('service'),
  levels: pageUrl.searchParams.getAll('level').flatMap((l) => l.split(',')).map((l) => l.trim().toLowerCase()).filter(Boolean),
  request_id: param('request_id'),
  user: param('user'),
  path: param('path'),
  status: param('status'),
};
const mode = search.logql ? 'logql' : 'search';

// ---------------------------------------------------------------- drawing

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v == null || v === false) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v === true ? '' : v);
  }
  e.append(...children.filter((c) => c != null));
  return e;
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

/** Nanoseconds as a decimal string → `{iso, time}` in UTC, as the server writes them. */
function times(tsNs) {
  const ms = Number(String(tsNs).slice(0, -6) || '0');
  const d = new Date(ms);
  const time = `${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;
  return { iso: d.toISOString(), time, ms };
}

const text = (v) => (typeof v === 'string' ? v : JSON.stringify(v));

/** A line of `/api/belfry/logs/search` or `/context`. */
function fromSearch(l) {
  const fields = [];
  for (const k of ['request_id', 'user', 'path', 'status', 'duration', 'error']) {
    if (l[k] != null) fields.push([k, text(l[k])]);
  }
  // Stream labels `service` and `level` are the line's own, shown already.
  for (const [k, v] of Object.entries(l.labels || {})) {
    if (!((k === 'service' && v === l.service) || (k === 'level' && v === l.level))) fields.push([k, text(v)]);
  }
  for (const [k, v] of Object.entries(l.fields || {})) fields.push([k, text(v)]);
  return {
    id: l.id, tsNs: String(l.timestamp_ns), level: l.level, service: l.service || '',
    message: l.message || '', requestId: l.request_id || null, fields,
  };
}

/** A line of a LogQL stream: its labels are its fields. */
function fromStream(labels, tsNs, line) {
  const level = LEVELS.includes(labels.level) ? labels.level : 'info';
  const fields = Object.entries(labels).filter(([k]) => k !== 'level' && k !== 'service');
  return {
    id: null, tsNs: String(tsNs), level, service: labels.service || '', message: line,
    requestId: labels.request_id || null, fields,
  };
}

function streamLines(streams) {
  const out = [];
  for (const s of streams || []) {
    for (const [ts, line] of s.values || []) out.push(fromStream(s.stream || {}, ts, line));
  }
  // Newest first; nanosecond strings compare as numbers when lengths agree.
  out.sort((a, b) => (b.tsNs.length - a.tsNs.length) || (b.tsNs < a.tsNs ? -1 : b.tsNs > a.tsNs ? 1 : 0));
  return out;
}

function requestHref(id) {
  const r = getRange();
  const p = new URLSearchParams({ from: r.raw.from, to: r.raw.to, request_id: id });
  return `/logs?${p}`;
}

function badge(level) {
  return el('span', { class: `badge lvl-${level}` }, el('span', { class: 'lvl-icon', 'aria-hidden': 'true' }), level);
}

function lineItem(v) {
  const { iso, time } = times(v.tsNs);
  const dl = el('dl', { class: 'log-fields' }, el('dt', { text: 'service' }), el('dd', { text: v.service }));
  for (const [k, value] of v.fields) {
    const dd = el('dd');
    if (k === 'request_id') dd.append(el('a', { href: requestHref(value), class: 'request-link', text: value }));
    else dd.textContent = value;
    dl.append(el('dt', { text: k }), dd);
  }
  const actions = el('p', { class: 'log-actions' });
  if (v.id != null) actions.append(el('button', { type: 'button', class: 'link-button', 'data-context': true, text: 'Show context' }));
  if (v.requestId) actions.append(el('a', { href: requestHref(v.requestId), text: `Everything of request ${v.requestId}` }));
  const li = el('li', {
    class: `log-line lvl-${v.level}`, 'data-id': v.id != null ? String(v.id) : null, 'data-service': v.service, 'data-ts': v.tsNs,
  }, el('details', {},
    el('summary', {},
      el('time', { datetime: iso, text: time }), ' ', badge(v.level), ' ',
      el('span', { class: 'log-service', text: v.service }), ' ',
      el('span', { class: 'log-message', text: v.message })),
    el('div', { class: 'log-details' }, dl, actions)));
  return li;
}

const SVG = 'http://www.w3.org/2000/svg';

function svgEl(tag, attrs = {}) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

function clock(ms) {
  const d = new Date(ms);
  return `${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
}

/** Stacked bars as log_view.rs draws them: critical at the bottom, 100 units high at the peak. */
function drawHistogram(counts, startMs, stepMs) {
  const peak = Math.max(0, ...counts.map((c) => c.reduce((a, b) => a + b, 0)));
  const totals = [0, 0, 0, 0, 0];
  svg.replaceChildren();
  svg.setAttribute('viewBox', `0 0 ${Math.max(1, counts.length)} 100`);
  svg.dataset.startMs = String(startMs);
  svg.dataset.stepMs = String(stepMs);
  svg.dataset.buckets = String(counts.length);
  svg.setAttribute('aria-label', `Lines per level over the range, at most ${peak} in one step`);
  counts.forEach((c, x) => {
    c.forEach((n, i) => { totals[i] += n; });
    const sum = c.reduce((a, b) => a + b, 0);
    if (!sum) return;
    const start = startMs + x * stepMs;
    const g = svgEl('g', { 'data-start-ms': start, 'data-end-ms': start + stepMs });
    const words = [];
    let top = 100;
    for (let i = LEVELS.length - 1; i >= 0; i--) {
      if (!c[i]) continue;
      const h = Math.max(0.5, (c[i] * 100) / peak);
      top -= h;
      g.append(svgEl('rect', { class: `lvl-${LEVELS[i]}`, x, y: Math.max(0, top).toFixed(2), width: 0.85, height: h.toFixed(2) }));
      words.push(`${c[i]} ${LEVELS[i]}`);
    }
    const title = svgEl('title');
    title.textContent = `${clock(start)} to ${clock(start + stepMs)} UTC: ${words.join(', ')}`;
    g.prepend(title);
    svg.append(g);
  });
  document.getElementById('logs-axis-start').textContent = clock(startMs);
  document.getElementById('logs-axis-end').textContent = clock(startMs + counts.length * stepMs);
  legend.replaceChildren();
  for (let i = LEVELS.length - 1; i >= 0; i--) {
    if (!totals[i]) continue;
    legend.append(el('span', { class: 'legend-item' },
      el('span', { class: `swatch lvl-${LEVELS[i]}`, 'aria-hidden': 'true' }), `${LEVELS[i]} ${totals[i]}`));
  }
  histogramBox.hidden = false;
}

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = !message;
}

function setOlder(next) {
  if (next == null) {
    olderLink.hidden = true;
    delete results.dataset.nextOffset;
    delete results.dataset.olderThan;
    return;
  }
  olderLink.hidden = tail.on;
  if (mode === 'search') results.dataset.nextOffset = String(next);
  else results.dataset.olderThan = String(next);
  // The no-script link stays true to the page it would load.
  const u = new URL(location.href);
  if (mode === 'search') u.searchParams.set('offset', String(next));
  else u.searchParams.set('to', String(next).slice(0, -6));
  olderLink.href = u.pathname + u.search;
}

function showLines(lines, { append = false } = {}) {
  if (!append) list.replaceChildren();
  list.append(...lines.map(lineItem));
  emptyBox.hidden = list.children.length > 0;
}

// ---------------------------------------------------------------- queries

async function getJson(url) {
  const response = await fetch(url, { credentials: 'same-origin' });
  if (response.status === 401) {
    location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
    throw new Error('signed out');
  }
  if (!response.ok) throw new Error(await errorMessage(response));
  return response.json();
}

function searchUrl(range, offset, buckets = BUCKETS) {
  const p = new URLSearchParams({
    start: String(range.from / 1000), end: String(range.to / 1000), limit: String(PAGE_LINES),
    offset: String(offset), buckets: String(buckets),
  });
  if (search.q) p.set('query', search.q);
  if (search.levels.length) p.set('level', search.levels.join(','));
  for (const k of ['service', 'request_id', 'user', 'path', 'status']) if (search[k]) p.set(k, search[k]);
  return `/api/belfry/logs/search?${p}`;
}

const ns = (ms) => `${Math.round(ms)}000000`;

function rangeUrl(query, startNs, endNs, extra = {}) {
  const p = new URLSearchParams({ query, start: startNs, end: endNs, ...extra });
  return `/loki/api/v1/query_range?${p}`;
}

/** A whole number of seconds splitting the range into at most BUCKETS bars that cover it (logs.rs's volume_step_ms). */
function volumeStepMs(rangeMs) {
  const raw = Math.max(1000, Math.ceil(Math.max(1, rangeMs) / BUCKETS));
  return Math.ceil(raw / 1000) * 1000;
}

async function loadSearch(range) {
  const body = await getJson(searchUrl(range, 0));
  const d = body.data;
  const stepMs = Math.max(1, Number(String(d.step_ns).slice(0, -6) || '0'));
  const startMs = d.histogram.length ? Number(String(d.histogram[0].start_ns).slice(0, -6)) : range.from;
  drawHistogram(d.histogram.map((b) => b.counts), startMs, stepMs);
  showLines(d.lines.map(fromSearch));
  countBox.textContent = `${d.total} matching`;
  setOlder(d.lines.length === PAGE_LINES && d.lines.length < d.total ? d.lines.length : null);
}

async function loadLogql(range) {
  const stepMs = volumeStepMs(range.to - range.from);
  const lines = getJson(rangeUrl(search.logql, ns(range.from), `${ns(range.to).slice(0, -1)}1`, {
    limit: String(PAGE_LINES), direction: 'backward',
  }));
  const volume = getJson(rangeUrl(`sum by (level) (count_over_time(${search.logql} [${stepMs / 1000}s]))`,
    ns(range.from + stepMs), ns(range.to + stepMs), { step: String(stepMs / 1000) }));
  const body = await lines;
  const found = streamLines(body.data.result);
  showLines(found);
  countBox.textContent = `${found.length} shown`;
  setOlder(found.length === PAGE_LINES ? found[found.length - 1].tsNs : null);
  try {
    const v = await volume;
    const counts = Array.from({ length: BUCKETS }, () => [0, 0, 0, 0, 0]);
    for (const s of v.data.result) {
      const li = Math.max(0, LEVELS.indexOf(s.metric.level || 'info'));
      for (const [t, value] of s.values) {
        const i = Math.floor((t * 1000 - stepMs - range.from) / stepMs);
        if (i >= 0 && i < BUCKETS) counts[i][li] += Math.round(Number(value));
      }
    }
    drawHistogram(counts, range.from, stepMs);
  } catch (e) {
    histogramBox.hidden = true;
  }
}

let loading = null;

/** Redraws the page for the current range: histogram, first page, count. */
async function reload() {
  if (!list) return;
  const range = getRange();
  const token = {};
  loading = token;
  main.setAttribute('aria-busy', 'true');
  for (const input of form.querySelectorAll('input[name="from"], input[name="to"]')) input.value = range.raw[input.name];
  try {
    if (mode === 'search') await loadSearch(range);
    else await loadLogql(range);
    if (loading === token) showError('');
  } catch (e) {
    if (loading === token) showError(`The search failed: ${e.message}`);
  } finally {
    if (loading === token) main.removeAttribute('aria-busy');
  }
}

async function loadOlder(e) {
  e.preventDefault();
  const range = getRange();
  olderLink.setAttribute('aria-disabled', 'true');
  try {
    if (mode === 'search') {
      const offset = Number(results.dataset.nextOffset || '0');
      const body = await getJson(searchUrl(range, offset, 1));
      const d = body.data;
      showLines(d.lines.map(fromSearch), { append: true });
      const shown = offset + d.lines.length;
      setOlder(d.lines.length === PAGE_LINES && shown < d.total ? shown : null);
    } else {
      const body = await getJson(rangeUrl(search.logql, ns(range.from), results.dataset.olderThan, {
        limit: String(PAGE_LINES), direction: 'backward',
      }));
      const found = streamLines(body.data.result);
      showLines(found, { append: true });
      countBox.textContent = `${list.children.length} shown`;
      setOlder(found.length === PAGE_LINES ? found[found.length - 1].tsNs : null);
    }
    showError('');
  } catch (err) {
    showError(`Older lines could not be loaded: ${err.message}`);
  } finally {
    olderLink.removeAttribute('aria-disabled');
  }
}

// ---------------------------------------------------------------- context

async function toggleContext(button) {
  const li = button.closest('.log-line');
  const details = li.querySelector('.log-details');
  const open = details.querySelector('.log-context');
  if (open) {
    open.remove();
    button.textContent = 'Show context';
    button.setAttribute('aria-expanded', 'false');
    return;
  }
  button.disabled = true;
  const box = el('section', { class: 'log-context', 'aria-label': `Lines around this one in ${li.dataset.service || 'its service'}` });
  details.append(box);
  try {
    const p = new URLSearchParams({ id: li.dataset.id, before: String(CONTEXT_LINES), after: String(CONTEXT_LINES) });
    const body = await getJson(`/api/belfry/logs/context?${p}`);
    const target = String(body.data.line.id);
    // The API gives them oldest first; the page reads newest first.
    const lines = body.data.lines.map(fromSearch).reverse();
    const ol = el('ol', { class: 'log-list context-lines' });
    let current = null;
    for (const v of lines) {
      const { iso, time } = times(v.tsNs);
      const isTarget = String(v.id) === target;
      const row = el('li', { class: `context-line log-line lvl-${v.level}`, 'aria-current': isTarget ? 'true' : null, 'data-id': String(v.id) },
        el('time', { datetime: iso, text: time }), badge(v.level), el('span', { class: 'log-message', text: v.message }));
      if (isTarget) current = row;
      ol.append(row);
    }
    box.append(el('h3', { text: `${lines.length - 1} lines around this one in ${li.dataset.service || 'its service'}` }), ol);
    button.textContent = 'Hide context';
    button.setAttribute('aria-expanded', 'true');
    if (current) ol.scrollTop = Math.max(0, current.offsetTop - ol.offsetTop - ol.clientHeight / 2);
  } catch (e) {
    box.append(el('p', { class: 'error-state', role: 'alert', text: `The lines around this one could not be loaded: ${e.message}` }));
  } finally {
    button.disabled = false;
  }
}

// ---------------------------------------------------------------- a request's errors

async function showRequestEvents() {
  const section = document.getElementById('logs-events');
  if (!section || !search.request_id || main.dataset.errors !== 'true' || mode !== 'search') return;
  section.hidden = false;
  document.getElementById('events-request').textContent = search.request_id;
  const status = document.getElementById('events-status');
  const ul = document.getElementById('events-list');
  status.textContent = 'Looking for the error events of this request…';
  try {
    const body = await getJson(`/api/belfry/correlate?${new URLSearchParams({ request_id: search.request_id })}`);
    const events = body.data.events || [];
    ul.replaceChildren();
    for (const ev of events) {
      const issue = ev.issue_id ?? ev.issue ?? ev.group_id;
      const title = ev.title || ev.message || (ev.exception?.values?.[0] ? `${ev.exception.values[0].type}: ${ev.exception.values[0].value}` : 'Error event');
      const level = LEVELS.includes(ev.level) ? ev.level : (ev.level === 'fatal' ? 'critical' : 'error');
      const when = typeof ev.timestamp === 'number' ? new Date(ev.timestamp * 1000) : new Date(ev.timestamp);
      const titleEl = issue != null
        ? el('a', { class: 'item-title', href: `/errors/issues/${encodeURIComponent(issue)}`, text: title })
        : el('span', { class: 'item-title', text: title });
      ul.append(el('li', { class: 'item' }, badge(level), titleEl,
        Number.isNaN(when.getTime()) ? null : el('span', { class: 'item-meta' }, el('time', { datetime: when.toISOString(), text: when.toISOString().replace('T', ' ').slice(0, 19) })),
        ev.culprit ? el('p', { class: 'item-text' }, el('code', { text: ev.culprit })) : null));
    }
    status.textContent = events.length
      ? `${events.length} error event${events.length === 1 ? '' : 's'} of this request.`
      : 'No error event was recorded for this request.';
  } catch (e) {
    status.textContent = `The request's error events could not be loaded: ${e.message}`;
    status.classList.add('error-text');
  }
}

// ---------------------------------------------------------------- histogram

function setupHistogram() {
  if (!svg) return;
  const HINT = 'Click a bar, or drag across bars, to narrow the range (keyboard: arrow keys pick a bar, Enter narrows to it).';
  const hint = el('p', { class: 'muted histogram-hint', id: 'logs-histogram-hint', 'aria-live': 'polite', text: HINT });
  legend.after(hint);
  setupHistogramKeys(hint, HINT);
  let start = null;
  let band = null;
  const bucketAt = (clientX) => {
    const box = svg.getBoundingClientRect();
    const n = Number(svg.dataset.buckets || '0');
    const frac = Math.min(1, Math.max(0, (clientX - box.left) / Math.max(1, box.width)));
    return { frac, x: frac * n, n };
  };
  const timeAt = (frac) => {
    const n = Number(svg.dataset.buckets || '0');
    return Number(svg.dataset.startMs) + frac * n * Number(svg.dataset.stepMs);
  };
  svg.addEventListener('pointerdown', (e) => {
    if (e.button !== 0 || !svg.dataset.buckets) return;
    start = bucketAt(e.clientX);
    svg.setPointerCapture(e.pointerId);
    band = svgEl('rect', { class: 'selection', x: start.x, y: 0, width: 0, height: 100 });
    svg.append(band);
  });
  svg.addEventListener('pointermove', (e) => {
    if (!start) return;
    const now = bucketAt(e.clientX);
    band.setAttribute('x', String(Math.min(start.x, now.x)));
    band.setAttribute('width', String(Math.abs(now.x - start.x)));
  });
  const finish = (e, cancelled) => {
    if (!start) return;
    const end = bucketAt(e.clientX);
    const s = start;
    start = null;
    band?.remove();
    band = null;
    if (cancelled) return;
    const box = svg.getBoundingClientRect();
    if (Math.abs(end.frac - s.frac) * box.width < 4) {
      // A click: the bar under the pointer.
      const i = Math.min(s.n - 1, Math.floor(s.x));
      const from = timeAt(i / s.n);
      setRange(Math.round(from), Math.round(from + Number(svg.dataset.stepMs)));
      return;
    }
    const from = timeAt(Math.min(s.frac, end.frac));
    const to = timeAt(Math.max(s.frac, end.frac));
    if (to - from >= 1000) setRange(Math.round(from), Math.round(to));
  };
  svg.addEventListener('pointerup', (e) => finish(e, false));
  svg.addEventListener('pointercancel', (e) => finish(e, true));
}

/** The keyboard's way to narrow: a cursor over the bars, Enter to zoom to its bar. */
function setupHistogramKeys(hint, idleText) {
  svg.setAttribute('tabindex', '0');
  svg.setAttribute('aria-describedby', 'logs-histogram-hint');
  let cursor = -1;
  let mark = null;
  const describe = (i) => {
    const step = Number(svg.dataset.stepMs);
    const start = Number(svg.dataset.startMs) + i * step;
    const bar = [...svg.querySelectorAll('g')].find((g) => Number(g.dataset.startMs) === start);
    return bar?.querySelector('title')?.textContent || `${clock(start)} to ${clock(start + step)} UTC: no lines`;
  };
  svg.addEventListener('keydown', (e) => {
    const n = Number(svg.dataset.buckets || '0');
    if (!n) return;
    const moves = { ArrowRight: cursor + 1, ArrowLeft: cursor < 0 ? n - 1 : cursor - 1, Home: 0, End: n - 1 };
    if (e.key in moves) {
      e.preventDefault();
      cursor = Math.min(n - 1, Math.max(0, moves[e.key]));
      if (!mark || !mark.isConnected) {
        mark = svgEl('rect', { class: 'selection', y: 0, width: 1, height: 100 });
        svg.append(mark);
      }
      mark.setAttribute('x', String(cursor));
      hint.textContent = `${describe(cursor)}. Enter narrows the range to it.`;
    } else if (e.key === 'Enter' && cursor >= 0) {
      e.preventDefault();
      const step = Number(svg.dataset.stepMs);
      const from = Number(svg.dataset.startMs) + cursor * step;
      cursor = -1;
      setRange(Math.round(from), Math.round(from + step));
    }
  });
  svg.addEventListener('blur', () => {
    mark?.remove();
    cursor = -1;
    hint.textContent = idleText;
  });
}

// ---------------------------------------------------------------- live tail

const tail = { on: false, paused: false, socket: null, held: [] };

function quoteLogql(s) {
  return JSON.stringify(s);
}

function escapeRegex(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The words of a search as LogQL line filters: each word, phrase or -word, case-insensitive. */
export function wordsAsFilters(q) {
  const out = [];
  const re = /(-?)"([^"]*)"|(-?)(\S+)/g;
  let m;
  while ((m = re.exec(q)) !== null) {
    const neg = m[1] || m[3];
    const word = m[2] ?? m[4];
    if (!word) continue;
    out.push(`${neg ? '!~' : '|~'} ${quoteLogql(`(?i)${escapeRegex(word)}`)}`);
  }
  return out;
}

/** The LogQL the tail follows: the page's own, or its filters as a selector and pipeline. */
export function tailQuery(s) {
  if (s.logql) return s.logql;
  const matchers = [s.service ? `service=${quoteLogql(s.service)}` : 'service=~".+"'];
  if (s.levels.length) matchers.push(`level=~${quoteLogql(s.levels.join('|'))}`);
  const stages = wordsAsFilters(s.q);
  if (s.request_id) stages.push(`| request_id=${quoteLogql(s.request_id)}`);
  if (s.user) stages.push(`| user=${quoteLogql(s.user)}`);
  if (s.path) stages.push(`| path=${quoteLogql(s.path)}`);
  if (/^\d+$/.test(s.status)) stages.push(`| status=${s.status}`);
  return [`{${matchers.join(', ')}}`, ...stages].join(' ');
}

function tailStatus(t) {
  document.getElementById('logs-tail-status').textContent = t;
}

function prepend(lines) {
  // Oldest of the batch first, so the newest ends on top.
  for (const v of [...lines].reverse()) {
    const li = lineItem(v);
    li.classList.add('is-new');
    list.prepend(li);
  }
  while (list.children.length > TAIL_CAP) list.lastElementChild.remove();
  emptyBox.hidden = list.children.length > 0;
  countBox.textContent = `${list.children.length} shown, live`;
}

function startTail() {
  const button = document.getElementById('logs-tail');
  const pause = document.getElementById('logs-pause');
  const p = new URLSearchParams({ query: tailQuery(search), limit: '100', start: ns(Date.now()) });
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const socket = new WebSocket(`${scheme}//${location.host}/loki/api/v1/tail?${p}`);
  Object.assign(tail, { on: true, paused: false, socket, held: [] });
  button.setAttribute('aria-pressed', 'true');
  button.textContent = 'Stop live tail';
  pause.hidden = false;
  pause.setAttribute('aria-pressed', 'false');
  pause.textContent = 'Pause';
  olderLink.hidden = true;
  tailStatus('Connecting…');
  socket.addEventListener('open', () => tailStatus(`Following new lines (the newest ${TAIL_CAP} stay).`));
  socket.addEventListener('message', (e) => {
    let lines;
    try {
      lines = streamLines(JSON.parse(e.data).streams);
    } catch {
      return;
    }
    if (!lines.length) return;
    if (tail.paused) {
      tail.held.unshift(...lines);
      tail.held.length = Math.min(tail.held.length, TAIL_CAP);
      tailStatus(`Paused: ${tail.held.length} new line${tail.held.length === 1 ? '' : 's'} waiting.`);
      return;
    }
    prepend(lines);
  });
  socket.addEventListener('close', (e) => {
    if (tail.socket !== socket) return;
    stopTail(e.code === 1000 || e.code === 1005 ? 'Live tail ended.' : `Live tail stopped (${e.reason || `connection closed, code ${e.code}`}). Start it again to follow new lines.`);
  });
}

function stopTail(message = 'Live tail is off.') {
  const button = document.getElementById('logs-tail');
  const pause = document.getElementById('logs-pause');
  const socket = tail.socket;
  Object.assign(tail, { on: false, paused: false, socket: null, held: [] });
  socket?.close();
  button.setAttribute('aria-pressed', 'false');
  button.textContent = 'Live tail';
  pause.hidden = true;
  olderLink.hidden = !(results.dataset.nextOffset || results.dataset.olderThan);
  tailStatus(message);
}

function setupTail() {
  const controls = document.getElementById('logs-tail-controls');
  // A query the server already refused would be refused again by the tail.
  if (!controls || !list || !errorBox.hidden) return;
  controls.hidden = false;
  document.getElementById('logs-tail').addEventListener('click', () => (tail.on ? stopTail() : startTail()));
  const pause = document.getElementById('logs-pause');
  pause.addEventListener('click', () => {
    tail.paused = !tail.paused;
    pause.setAttribute('aria-pressed', String(tail.paused));
    pause.textContent = tail.paused ? 'Resume' : 'Pause';
    if (!tail.paused) {
      if (tail.held.length) prepend(tail.held);
      tail.held = [];
      tailStatus(`Following new lines (the newest ${TAIL_CAP} stay).`);
    } else {
      tailStatus('Paused: new lines wait here.');
    }
  });
}

// ---------------------------------------------------------------- the form

function setupForm() {
  if (!form) return;
  const logql = document.getElementById('logs-logql');
  const others = form.querySelectorAll('#logs-q, #logs-service, #logs-request, .logs-levels');
  const sync = () => {
    for (const c of others) c.disabled = logql.value.trim() !== '';
  };
  logql.addEventListener('input', sync);
  sync();
  // The URL keeps only what was given.
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const p = new URLSearchParams();
    for (const [k, v] of new FormData(form)) if (String(v).trim() !== '') p.append(k, String(v).trim());
    location.assign(`/logs?${p}`);
  });
}

function init() {
  setupForm();
  if (!list) return;
  for (const b of list.querySelectorAll('[data-context]')) b.hidden = false;
  list.addEventListener('click', (e) => {
    const b = e.target.closest('[data-context]');
    if (b) toggleContext(b);
  });
  olderLink.addEventListener('click', loadOlder);
  setupHistogram();
  setupTail();
  showRequestEvents();
  document.addEventListener('belfry:timerange', (e) => {
    e.preventDefault();
    reload();
  });
  document.addEventListener('belfry:refresh', (e) => {
    e.preventDefault();
    // Live tail already shows what is new; a reload would drop it.
    if (!tail.on) reload();
  });
}

init();
