// The logs panel: Loki streams as one list, newest first (or oldest, by
// `sortOrder`), each line with its time and level — a colour and the word —
// and expandable into its stream labels and the fields parsed from the line
// (JSON or logfmt).

import { el } from '../dom.js';

export const needsData = true;

const MAX_LINES = 1000;
const PAGE_LINES = 100;

function parseFields(line) {
  const s = line.trim();
  if (s.startsWith('{')) {
    try {
      const o = JSON.parse(s);
      if (o && typeof o === 'object' && !Array.isArray(o)) {
        const out = {};
        for (const [k, v] of Object.entries(o)) out[k] = typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v);
        return out;
      }
    } catch {
      // Not JSON after all; try logfmt.
    }
  }
  const out = {};
  const re = /([\w.-]+)=("(?:[^"\\]|\\.)*"|\S*)/g;
  let m;
  let n = 0;
  while ((m = re.exec(s)) !== null) {
    out[m[1]] = m[2].startsWith('"') ? m[2].slice(1, -1).replace(/\\"/g, '"') : m[2];
    n += 1;
  }
  return n > 0 ? out : {};
}

/** The level of a line: a label, a parsed field, or a level word in the text. */
export function levelOf(labels, fields, line) {
  const raw = labels.level ?? labels.detected_level ?? labels.severity ?? labels.lvl
    ?? fields.level ?? fields.lvl ?? fields.severity ?? fields.levelname ?? fields['log.level']
    ?? (/\b(FATAL|CRITICAL|CRIT|ERROR|ERR|WARN(?:ING)?|INFO|DEBUG|TRACE)\b/i.exec(line)?.[1]);
  const v = String(raw ?? '').toLowerCase();
  if (/^(fatal|panic|crit|critical|emerg|alert)/.test(v)) return { cls: 'critical', word: 'critical' };
  if (/^(err|error)/.test(v)) return { cls: 'critical', word: 'error' };
  if (/^warn/.test(v)) return { cls: 'warning', word: 'warning' };
  if (/^(info|notice|information)/.test(v)) return { cls: 'info', word: 'info' };
  if (/^(debug|trace)/.test(v)) return { cls: 'debug', word: v.startsWith('trace') ? 'trace' : 'debug' };
  return { cls: 'unknown', word: raw ? String(raw) : 'unknown' };
}

function fmtTime(ms) {
  const d = new Date(ms);
  const pad = (n, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** One line: its summary (time, level, text) expanding into its labels and fields. */
function lineItem(e, o, expanded) {
  const fields = parseFields(e.line);
  const level = levelOf(e.labels, fields, e.line);
  const ms = Number(e.ns / 1000000n);
  const key = `${e.ns}:${e.line.length}:${e.line.slice(0, 40)}`;
  const li = el('li', `log-line level-${level.cls}`);
  const btn = el('button', { type: 'button', class: 'log-summary', 'aria-expanded': String(expanded.has(key)) },
    o.showTime === false ? null : el('time', { datetime: new Date(ms).toISOString(), class: 'log-time' }, fmtTime(ms)),
    el('span', `log-level badge badge-${level.cls}`, level.word),
    el('span', 'log-text', e.line));
  const details = el('div', 'log-details');
  details.hidden = !expanded.has(key);
  const fill = () => {
    if (details.childElementCount) return;
    const dl = el('dl', 'log-fields');
    const add = (k, v, kind) => dl.append(el('dt', null, el('span', 'log-field-kind', kind), k), el('dd', null, v));
    for (const [k, v] of Object.entries(e.labels)) add(k, v, 'label');
    for (const [k, v] of Object.entries(fields)) add(k, v, 'field');
    details.appendChild(dl);
    const rid = fields.request_id || fields.requestId || e.labels.request_id;
    if (rid) details.appendChild(el('a', { class: 'log-request', href: `/logs?request_id=${encodeURIComponent(rid)}` }, `Everything with request_id ${rid}`));
  };
  if (!details.hidden) fill();
  btn.addEventListener('click', () => {
    const open = details.hidden;
    if (open) { fill(); expanded.add(key); } else expanded.delete(key);
    details.hidden = !open;
    btn.setAttribute('aria-expanded', String(open));
  });
  li.append(btn, details);
  return li;
}

export function create(body, panel) {
  const wrap = el('div', 'logs-panel');
  body.appendChild(wrap);
  const expanded = new Set();
  return {
    update({ logs }) {
      const o = panel.options || {};
      const entries = [];
      for (const stream of logs) {
        for (const [ts, line] of stream.values || []) {
          entries.push({ ns: BigInt(ts), line, labels: stream.stream || {} });
        }
      }
      if (!entries.length) {
        wrap.replaceChildren();
        return 'nodata';
      }
      const asc = o.sortOrder === 'Ascending';
      entries.sort((a, b) => (a.ns === b.ns ? 0 : (a.ns < b.ns) === asc ? -1 : 1));
      const list = el('ol', { class: `logs-list${o.wrapLogMessage === false ? ' nowrap' : ''}`, 'aria-label': 'Log lines' });
      const shown = entries.slice(0, MAX_LINES);
      // Lines go in a page at a time: a panel's 1,000 lines are some 6,000
      // elements, which a dashboard's first paint should not wait for.
      const more = el('button', { type: 'button', class: 'logs-more-button' });
      let next = 0;
      const showPage = () => {
        for (const e of shown.slice(next, next + PAGE_LINES)) list.appendChild(lineItem(e, o, expanded));
        next = Math.min(shown.length, next + PAGE_LINES);
        more.hidden = next >= shown.length;
        more.textContent = `Show ${Math.min(PAGE_LINES, shown.length - next)} more (${next} of ${shown.length} shown)`;
      };
      more.addEventListener('click', showPage);
      showPage();
      const parts = [list, more];
      if (entries.length > MAX_LINES) parts.push(el('p', 'logs-more', `Showing the newest ${MAX_LINES} of ${entries.length} lines.`));
      wrap.replaceChildren(...parts);
      return 'data';
    },
    destroy() { wrap.remove(); },
  };
}
