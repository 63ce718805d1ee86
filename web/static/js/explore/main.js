// The Explore page: query editors with completion, Run, the graph, table
// and log views, errors under the query that caused them, the history,
// and the URL that holds it all (`?lang=&q=&q=&legend=&from=&to=&view=&step=`,
// replaced on every run so a copied address reopens the same view).
// The server has already put the URL's queries into the editors.

import { getRange, stepFor, parseDuration, formatDuration } from '../timerange.js';
import { el } from '../dashboard/dom.js';
import { promQuery, promQueryRange, lokiQueryRange, ApiError } from '../dashboard/api.js';
import { attachCompletion } from './combobox.js';
import { suggest } from './suggest.js';
import { loadHistory, addToHistory, clearHistory } from './history.js';
import { GraphView, LogsView, instantTable, fieldNames } from './results.js';
import { isLogQuery, errorPosition, offsetOf } from './context.js';

const LOG_LINES = 1000;
const PLACEHOLDERS = {
  promql: 'rate(belfry_http_requests_total[1m])',
  logql: '{service="api"} |= "error" | json',
};
const NAMES = { promql: 'PromQL', logql: 'LogQL' };

const main = document.getElementById('main');
const form = document.getElementById('explore-form');
const rowList = document.getElementById('explore-queries');
const addButton = document.getElementById('explore-add');
const stepInput = document.getElementById('explore-step');
const statusEl = document.getElementById('explore-status');
const graphEl = document.getElementById('explore-graph');
const tableEl = document.getElementById('explore-table');
const graph = new GraphView(graphEl);
const logs = new LogsView(document.getElementById('explore-logs'));
const MAX_QUERIES = Number(main.dataset.maxQueries) || 10;

let lang = main.dataset.lang === 'logql' ? 'logql' : 'promql';
let view = main.dataset.view === 'table' ? 'table' : 'graph';
// The label and field names of the last answer, which completion offers.
let known = { labels: new Set(), fields: new Set() };
// Each language's editors while the other one is shown.
const parked = { promql: null, logql: null };
const completions = new WeakMap();
let lastEditor = null;
let controller = null;
let idSeq = rowList.children.length;

// ------------------------------------------------------------------ rows

function rows() {
  return [...rowList.querySelectorAll('[data-query]')].map((li) => ({
    li,
    editor: li.querySelector('[data-editor]'),
    expr: li.querySelector('[data-editor]').value,
    legend: li.querySelector('[data-legend]').value.trim(),
    letter: li.querySelector('[data-letter]').textContent,
  }));
}

function fitHeight(editor) {
  const lines = editor.value.split('\n').length;
  editor.rows = Math.max(2, Math.min(12, lines));
}

function setupRow(li) {
  const editor = li.querySelector('[data-editor]');
  editor.placeholder = PLACEHOLDERS[lang];
  fitHeight(editor);
  completions.set(li, attachCompletion(editor, (text, caret, explicit) => suggest(lang, text, caret, {
    explicit, range: getRange(), known,
  })));
  editor.addEventListener('focus', () => { lastEditor = editor; });
  editor.addEventListener('input', () => {
    fitHeight(editor);
    if (editor.getAttribute('aria-invalid')) clearRowError(li);
  });
  li.querySelector('[data-remove]').addEventListener('click', () => removeRow(li));
}

function makeRow(expr = '', legend = '') {
  idSeq += 1;
  const id = `explore-q-${idSeq}`;
  const letter = () => el('span', { 'data-letter': '' });
  const editor = el('textarea', {
    id, name: 'q', rows: '2', class: 'mono', spellcheck: 'false', autocapitalize: 'off', autocomplete: 'off',
    'data-editor': '', 'aria-describedby': `explore-keys ${id}-error`,
  });
  editor.value = expr;
  const legendInput = el('input', {
    id: `explore-legend-${idSeq}`, name: 'legend', placeholder: '{{label}} (auto)', spellcheck: 'false',
    autocomplete: 'off', 'data-legend': '',
  });
  legendInput.value = legend;
  const li = el('li', { class: 'explore-query', 'data-query': '' },
    el('div', 'explore-query-head',
      el('label', { for: id, class: 'explore-letter' }, 'Query ', letter()),
      el('span', { class: 'explore-query-status muted', 'data-row-status': '' }),
      el('button', { type: 'button', class: 'link-button', 'data-remove': '' }, 'Remove',
        el('span', 'visually-hidden', ' query ', letter()))),
    el('div', 'explore-editor', editor),
    el('div', 'explore-legend', el('label', { for: `explore-legend-${idSeq}` }, 'Legend'), legendInput),
    el('div', { class: 'explore-error', id: `${id}-error`, 'aria-live': 'polite', 'data-error': '' }));
  rowList.appendChild(li);
  setupRow(li);
  return li;
}

// Letters follow the order; the first editor is the one `/` focuses.
function renumber() {
  const all = rows();
  all.forEach((r, i) => {
    for (const s of r.li.querySelectorAll('[data-letter]')) s.textContent = String.fromCharCode(65 + (i % 26));
    r.li.querySelector('[data-remove]').hidden = all.length === 1;
    if (i === 0) r.editor.setAttribute('data-search', '');
    else r.editor.removeAttribute('data-search');
  });
  addButton.hidden = false;
  addButton.disabled = all.length >= MAX_QUERIES;
  addButton.textContent = all.length >= MAX_QUERIES ? `Add query (${MAX_QUERIES} at most)` : 'Add query';
}

function removeRow(li) {
  const all = rows();
  const i = all.findIndex((r) => r.li === li);
  completions.get(li)?.destroy();
  li.remove();
  renumber();
  const rest = rows();
  rest[Math.min(i, rest.length - 1)]?.editor.focus();
}

function replaceRows(list) {
  for (const r of rows()) {
    completions.get(r.li)?.destroy();
    r.li.remove();
  }
  for (const { expr, legend } of list.length ? list : [{ expr: '', legend: '' }]) makeRow(expr, legend);
  renumber();
}

// ----------------------------------------------------------------- state

function setStatus(text, isError = false) {
  statusEl.textContent = text;
  statusEl.classList.toggle('error-text', isError);
}

function rowStatus(li, text) {
  li.querySelector('[data-row-status]').textContent = text;
}

function clearRowError(li) {
  li.querySelector('[data-error]').replaceChildren();
  li.querySelector('[data-editor]').removeAttribute('aria-invalid');
}

/** The API's message under its query, with the place it names shown and one click away. */
function showRowError(row, message) {
  const box = row.li.querySelector('[data-error]');
  const pos = errorPosition(message);
  const p = el('p', 'error-state');
  const parts = [p];
  if (pos) {
    p.append(el('strong', null, `Line ${pos.line}, column ${pos.col}: `), pos.message);
    const lineText = row.expr.split('\n')[pos.line - 1] ?? '';
    const at = offsetOf(lineText, 1, pos.col);
    parts.push(el('pre', { class: 'explore-error-snippet', 'aria-hidden': 'true' }, `${lineText}\n${' '.repeat(at)}^`));
    const go = el('button', { type: 'button', class: 'link-button' }, `Go to line ${pos.line}, column ${pos.col}`);
    go.addEventListener('click', () => {
      const offset = offsetOf(row.editor.value, pos.line, pos.col);
      row.editor.focus();
      row.editor.setSelectionRange(offset, Math.min(row.editor.value.length, offset + 1));
    });
    parts.push(go);
  } else {
    p.textContent = message;
  }
  box.replaceChildren(...parts);
  row.editor.setAttribute('aria-invalid', 'true');
}

function writeUrl() {
  const current = new URL(window.location.href);
  const range = getRange(current);
  const p = new URLSearchParams();
  p.set('lang', lang);
  const kept = rows().filter((r) => r.expr.trim());
  for (const r of kept) p.append('q', r.expr);
  if (kept.some((r) => r.legend)) for (const r of kept) p.append('legend', r.legend);
  p.set('from', range.raw.from);
  p.set('to', range.raw.to);
  p.set('view', view);
  const step = stepInput.value.trim();
  if (step) p.set('step', step);
  // Whatever else the address carries (refresh, …) stays.
  for (const [k, v] of current.searchParams) {
    if (!['lang', 'q', 'legend', 'from', 'to', 'view', 'step'].includes(k)) p.append(k, v);
  }
  const next = `${current.pathname}?${p}${current.hash}`;
  if (next !== `${current.pathname}${current.search}${current.hash}`) history.replaceState(history.state, '', next);
  for (const input of form.querySelectorAll('input[type="hidden"]')) input.value = range.raw[input.name] ?? input.value;
}

/** The step in seconds: the one typed, or about a point per pixel of the graph. Null when the typed one is no duration. */
function stepSeconds(range) {
  const typed = stepInput.value.trim();
  if (typed) {
    const ms = parseDuration(typed);
    return ms && ms > 0 ? ms / 1000 : null;
  }
  const width = graphEl.clientWidth || main.clientWidth || 1000;
  return stepFor(range.to - range.from, width);
}

// ------------------------------------------------------------------ run

async function lokiInstant(query, timeMs, signal) {
  const p = new URLSearchParams({ query, time: `${Math.ceil(timeMs)}000000` });
  const r = await fetch(`/loki/api/v1/query?${p}`, { signal, credentials: 'same-origin' });
  const text = await r.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  if (!r.ok || body?.status !== 'success') throw new ApiError(body?.error || text.trim() || `HTTP ${r.status}`, r.status);
  return body.data;
}

function runOne(expr, range, step, signal) {
  if (lang === 'promql') {
    return view === 'table'
      ? promQuery(expr, range.to / 1000, signal)
      : promQueryRange(expr, range.from / 1000, range.to / 1000, step, signal);
  }
  if (isLogQuery(expr)) return lokiQueryRange(expr, range.from, range.to, { limit: LOG_LINES, direction: 'backward' }, signal);
  return view === 'table'
    ? lokiInstant(expr, range.to, signal)
    : lokiQueryRange(expr, range.from, range.to, { step }, signal);
}

function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}

function clearResults() {
  graph.clear();
  logs.clear();
  tableEl.replaceChildren();
  tableEl.hidden = true;
}

function show(outcomes, range, step, elapsedMs) {
  const matrices = [];
  const tables = [];
  const streams = [];
  const labels = new Set();
  let failed = 0;
  // An expired session: sign in again and come back to this very view.
  if (outcomes.some((o) => o.error?.status === 401)) {
    window.location.assign(`/login?next=${encodeURIComponent(window.location.pathname + window.location.search)}`);
    return;
  }
  for (const { row, data, error } of outcomes) {
    if (error) {
      failed += 1;
      rowStatus(row.li, 'failed');
      // fetch() itself failing means no answer at all, not a refused query.
      showRowError(row, error instanceof TypeError
        ? `The server did not answer (${error.message}): check that Belfry is running and reachable, then run again.`
        : error.message || String(error));
      continue;
    }
    if (data.resultType === 'streams') {
      streams.push(...data.result);
      const n = data.result.reduce((a, s) => a + (s.values || []).length, 0);
      rowStatus(row.li, n ? plural(n, 'line') : 'no lines');
    } else if (data.resultType === 'matrix' && view === 'graph') {
      matrices.push({ letter: row.letter, legend: row.legend, result: data.result });
      rowStatus(row.li, data.result.length ? plural(data.result.length, 'series', 'series') : 'no series');
    } else {
      const t = instantTable(row.letter, data);
      tables.push(t.node);
      rowStatus(row.li, t.count ? plural(t.count, 'row') : 'no series');
    }
    for (const r of data.result || []) for (const k of Object.keys(r.metric || r.stream || {})) labels.add(k);
  }
  const exprs = outcomes.map((o) => o.row.expr);
  const series = view === 'graph' ? graph.show(matrices, range, exprs) : (graph.clear(), 0);
  tableEl.replaceChildren(...tables);
  tableEl.hidden = tables.length === 0;
  const lines = logs.show(streams);
  const fields = fieldNames(streams);
  for (const l of labels) fields.add(l);
  known = { labels, fields };

  const shown = [];
  if (series) shown.push(`${series} series`);
  if (tables.length) shown.push(`${plural(tables.length, 'table')}`);
  if (lines) shown.push(`${plural(lines, 'line')}${lines > LOG_LINES ? ` (the newest ${LOG_LINES} shown)` : ''}`);
  const timing = `${Math.round(elapsedMs)} ms`;
  if (failed === outcomes.length) {
    setStatus(`${failed === 1 ? 'The query' : 'Every query'} failed: the error is under ${failed === 1 ? 'it' : 'each'}.`, true);
  } else if (!shown.length) {
    setStatus(`No data: nothing matched between ${new Date(range.from).toLocaleString()} and ${new Date(range.to).toLocaleString()}. Widen the range with the time picker, or check the names (Ctrl+Space in an editor lists them).${failed ? ` ${plural(failed, 'query', 'queries')} failed.` : ''}`);
  } else {
    const stepText = view === 'graph' && matrices.length ? ` · step ${formatDuration(step * 1000)}` : '';
    const failText = failed ? ` · ${failed} failed (see under ${failed === 1 ? 'it' : 'them'})` : '';
    setStatus(`${shown.join(' · ')}${stepText} · ${timing}${failText}`);
  }
  main.dataset.state = 'done';
  main.dataset.errors = String(failed);
  main.removeAttribute('aria-busy');
}

/** Runs every non-empty query; `record` adds them to the history (a refresh tick does not). */
async function run({ record = true } = {}) {
  for (const r of rows()) {
    clearRowError(r.li);
    rowStatus(r.li, '');
  }
  writeUrl();
  const active = rows().filter((r) => r.expr.trim());
  controller?.abort();
  if (!active.length) {
    clearResults();
    setStatus(`Write a ${NAMES[lang]} query above and run it.`);
    main.dataset.state = 'idle';
    return;
  }
  const range = getRange();
  const step = stepSeconds(range);
  if (step == null) {
    stepInput.setAttribute('aria-invalid', 'true');
    setStatus(`The step "${stepInput.value.trim()}" is not a duration: write one such as 30s or 1m, or leave it empty.`, true);
    main.dataset.state = 'done';
    return;
  }
  stepInput.removeAttribute('aria-invalid');
  if (record) {
    addToHistory(lang, active.map((r) => r.expr));
    renderHistory();
  }
  controller = new AbortController();
  const { signal } = controller;
  main.dataset.state = 'running';
  main.setAttribute('aria-busy', 'true');
  setStatus('Running…');
  const started = performance.now();
  const outcomes = await Promise.all(active.map((row) => runOne(row.expr, range, step, signal)
    .then((data) => ({ row, data }), (error) => ({ row, error }))));
  if (signal.aborted) return;
  show(outcomes, range, step, performance.now() - started);
}

// --------------------------------------------------------------- history

const historySection = document.getElementById('explore-history');
const historyList = document.getElementById('explore-history-list');

function renderHistory() {
  const entries = loadHistory(lang);
  historySection.hidden = false;
  document.getElementById('explore-history-count').textContent = String(entries.length);
  document.getElementById('explore-history-empty').hidden = entries.length > 0;
  document.getElementById('explore-history-clear').hidden = entries.length === 0;
  historyList.replaceChildren(...entries.map((e) => {
    const b = el('button', { type: 'button', class: 'explore-history-item', 'data-history': '' },
      el('span', 'visually-hidden', 'Load '),
      el('code', null, e.q),
      el('time', { class: 'muted', datetime: new Date(e.at).toISOString() }, new Date(e.at).toLocaleString()));
    b.addEventListener('click', () => {
      const target = lastEditor && lastEditor.isConnected ? lastEditor : rows()[0].editor;
      target.value = e.q;
      fitHeight(target);
      clearRowError(target.closest('[data-query]'));
      target.focus();
      target.setSelectionRange(e.q.length, e.q.length);
      setStatus('Query loaded from the history: Ctrl+Enter runs it.');
    });
    return el('li', null, b);
  }));
}

document.getElementById('explore-history-clear').addEventListener('click', () => {
  clearHistory(lang);
  renderHistory();
  historySection.querySelector('summary').focus();
  setStatus(`The ${NAMES[lang]} history is cleared.`);
});

// ---------------------------------------------------------------- wiring

function switchLanguage(next) {
  if (next === lang) return;
  parked[lang] = rows().map(({ expr, legend }) => ({ expr, legend }));
  lang = next;
  main.dataset.lang = lang;
  replaceRows(parked[lang] || []);
  known = { labels: new Set(), fields: new Set() };
  clearResults();
  renderHistory();
  if (rows().some((r) => r.expr.trim())) run({ record: false });
  else {
    writeUrl();
    setStatus(`Write a ${NAMES[lang]} query above and run it.`);
  }
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  run();
});
form.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    run();
  }
});
form.addEventListener('change', (e) => {
  const t = e.target;
  if (t.name === 'lang') switchLanguage(t.value);
  if (t.name === 'view') {
    view = t.value === 'table' ? 'table' : 'graph';
    main.dataset.view = view;
    if (rows().some((r) => r.expr.trim())) run({ record: false });
    else writeUrl();
  }
});
addButton.addEventListener('click', () => {
  if (rows().length >= MAX_QUERIES) return;
  const li = makeRow();
  renumber();
  li.querySelector('[data-editor]').focus();
});

// The time picker and drag-to-zoom change the range; a refresh tick asks
// again. Both redraw here, without reloading the page.
document.addEventListener('belfry:timerange', (e) => {
  e.preventDefault();
  run({ record: false });
});
document.addEventListener('belfry:refresh', (e) => {
  e.preventDefault();
  if (main.dataset.state !== 'running') run({ record: false });
});

for (const li of rowList.querySelectorAll('[data-query]')) setupRow(li);
renumber();
renderHistory();
if (rows().some((r) => r.expr.trim())) run({ record: false });
