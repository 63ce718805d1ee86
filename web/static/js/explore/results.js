// Drawing what the queries answered: every series of every query in one
// graph (chart.js, with its drag-to-zoom and logs/errors menu), a table per
// query of the instant answer (a row per series, a column per label, the
// value), and log lines newest first (the dashboards' logs view).

import { createChart, seriesFromMatrix, serviceOfQueries } from '../chart.js';
import { el } from '../dashboard/dom.js';
import { create as createLogsView } from '../dashboard/panels/logs.js';

const PLOT_PX = 300;
const PLOT_PHONE_PX = 220;

/** The graph in `container`, made on first use and updated in place after. */
export class GraphView {
  constructor(container) {
    this.container = container;
    this.chart = null;
  }

  /** `answers`: [{letter, legend, result}] of matrix results. Returns the series count. */
  show(answers, range, exprs) {
    const series = [];
    for (const a of answers) series.push(...seriesFromMatrix(a.result, a.legend, a.letter));
    const drawn = series.filter((s) => s.points.length > 0);
    if (!drawn.length) {
      this.clear();
      return 0;
    }
    this.container.hidden = false;
    const opts = { series: drawn, range, service: serviceOfQueries(exprs) ?? undefined };
    if (this.chart) this.chart.update(opts);
    else this.chart = createChart(this.container, opts);
    // The plot keeps its height and the legend below it takes what it
    // needs (up to its own cap, then it scrolls): many series must not
    // squeeze the graph.
    const legend = this.container.querySelector('.u-legend');
    const plot = window.matchMedia('(max-width: 700px)').matches ? PLOT_PHONE_PX : PLOT_PX;
    this.container.style.height = `${plot + (legend ? legend.offsetHeight : 0) + 8}px`;
    return drawn.length;
  }

  clear() {
    if (this.chart) this.chart.destroy();
    this.chart = null;
    this.container.hidden = true;
  }
}

/**
 * A table of an instant answer: `vector` (a row per series), `scalar` or
 * `string` (one row); `matrix` (a range answer, e.g. a subquery) shows
 * each series' last sample.
 */
export function instantTable(letter, data) {
  const rows = [];
  const kind = data?.resultType;
  if (kind === 'scalar' || kind === 'string') {
    rows.push({ labels: {}, value: data.result[1], time: data.result[0] });
  } else {
    for (const r of data?.result || []) {
      const sample = Array.isArray(r.value) ? r.value : r.values?.[r.values.length - 1];
      rows.push({ labels: r.metric || {}, value: sample ? sample[1] : '', time: sample ? sample[0] : null });
    }
  }
  const section = el('section', { class: 'explore-table-block', 'aria-label': `Query ${letter}` });
  section.appendChild(el('h3', null, `Query ${letter} `, el('span', 'count', `${rows.length} row${rows.length === 1 ? '' : 's'}`)));
  if (!rows.length) {
    section.appendChild(el('p', 'empty', 'No series at the end of the range. Widen the range, or check the metric and label names.'));
    return { node: section, count: 0 };
  }
  const names = new Set();
  for (const r of rows) for (const k of Object.keys(r.labels)) names.add(k);
  const columns = [...names].sort((a, b) => (a === '__name__' ? -1 : b === '__name__' ? 1 : a.localeCompare(b)));
  const head = el('tr', null,
    ...columns.map((c) => el('th', { scope: 'col' }, c === '__name__' ? 'metric' : c)),
    el('th', { scope: 'col', class: 'num' }, 'Value'));
  const body = rows.map((r) => el('tr', null,
    ...columns.map((c) => el('td', 'mono', r.labels[c] ?? '')),
    // The value exactly as the API gave it: a table is where one reads the digits.
    el('td', 'num mono', String(r.value))));
  const wrap = el('div', 'table-wrap', el('table', 'data explore-data', el('thead', null, head), el('tbody', null, ...body)));
  section.appendChild(wrap);
  return { node: section, count: rows.length };
}

/** The logs list (newest first); returns the number of lines. */
export class LogsView {
  constructor(container) {
    this.container = container;
    this.view = null;
  }

  show(streams) {
    let lines = 0;
    for (const s of streams) lines += (s.values || []).length;
    if (!lines) {
      this.clear();
      return 0;
    }
    this.container.hidden = false;
    if (!this.view) this.view = createLogsView(this.container, { options: { sortOrder: 'Descending', wrapLogMessage: true } });
    this.view.update({ logs: streams });
    return lines;
  }

  clear() {
    if (this.view) this.view.destroy();
    this.view = null;
    this.container.hidden = true;
  }
}

/**
 * The names a pipeline may filter on, from the last lines: their stream
 * labels (Loki's answer already carries the fields a `| json` or
 * `| logfmt` extracted) and the keys of lines that are JSON or logfmt.
 */
export function fieldNames(streams, limit = 300) {
  const out = new Set();
  let n = 0;
  for (const s of streams) {
    for (const k of Object.keys(s.stream || {})) out.add(k);
    for (const [, line] of s.values || []) {
      if (n >= limit) return out;
      n += 1;
      const t = String(line).trim();
      if (t.startsWith('{')) {
        try {
          const o = JSON.parse(t);
          if (o && typeof o === 'object' && !Array.isArray(o)) {
            for (const k of Object.keys(o)) if (/^[A-Za-z_]\w*$/.test(k)) out.add(k);
            continue;
          }
        } catch {
          // Not JSON: try logfmt below.
        }
      }
      const re = /(?:^|\s)([A-Za-z_][\w]*)=/g;
      let m;
      while ((m = re.exec(t)) !== null) out.add(m[1]);
    }
  }
  return out;
}
