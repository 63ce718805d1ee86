// The table panel: for instant queries (or `format: table`) one row per
// label set with a Value column per target (`Value #A` …), merged on labels
// as Grafana's merge transformation; for range queries one row per series
// with its reduced value. Sortable columns, units and thresholds per column
// (`custom.displayMode` color-text / color-background), overrides by column
// name, the `organize` transformation, data links in cells.

import { el, contrastClass } from '../dom.js';
import { fieldConfigFor, reduce, thresholdColor, mapValue } from '../fields.js';
import { formatValue } from '../../units.js';
import { resolveColor } from '../../chart.js';
import { resolveLink } from '../links.js';

export const needsData = true;

function buildRows(panel, series) {
  const refIds = [...new Set(series.map((s) => s.refId))];
  const multi = refIds.length > 1;
  const rows = new Map();
  const labelCols = new Set();
  let hasTime = false;
  for (const s of series) {
    const key = JSON.stringify(Object.entries(s.labels).sort());
    let row = rows.get(key);
    if (!row) {
      row = { labels: s.labels, values: {}, time: null, series: s };
      rows.set(key, row);
    }
    for (const k of Object.keys(s.labels)) labelCols.add(k);
    const calc = panel.options?.reduceOptions?.calcs?.[0] || 'lastNotNull';
    const v = reduce(s.points.map((p) => (Number.isFinite(p[1]) ? p[1] : null)), s.points.length === 1 ? 'last' : calc);
    row.values[multi ? `Value #${s.refId}` : 'Value'] = v;
    const t = s.points.length ? s.points[s.points.length - 1][0] * 1000 : null;
    if (t != null) { row.time = t; hasTime = true; }
  }
  const valueCols = multi ? refIds.map((r) => `Value #${r}`) : ['Value'];
  const cols = [
    ...(hasTime ? [{ name: 'Time', kind: 'time' }] : []),
    ...[...labelCols].sort((a, b) => (a === '__name__' ? -1 : b === '__name__' ? 1 : a.localeCompare(b))).map((n) => ({ name: n, kind: 'label' })),
    ...valueCols.map((n) => ({ name: n, kind: 'value' })),
  ];
  return { cols, rows: [...rows.values()] };
}

function organize(panel, cols) {
  let out = cols.map((c) => ({ ...c, title: c.name }));
  for (const t of panel.transformations || []) {
    if (t.id !== 'organize' || t.disabled) continue;
    const o = t.options || {};
    out = out.filter((c) => !(o.excludeByName || {})[c.name]);
    if (o.indexByName && Object.keys(o.indexByName).length) {
      out.sort((a, b) => (o.indexByName[a.name] ?? 999) - (o.indexByName[b.name] ?? 999));
    }
    for (const c of out) if (o.renameByName?.[c.name]) c.title = o.renameByName[c.name];
  }
  return out;
}

export function create(body, panel) {
  const wrap = el('div', 'table-wrap');
  body.appendChild(wrap);
  let sortBy = null;
  let desc = true;
  let last = null;

  function draw() {
    const { series, ctx } = last;
    const { cols: rawCols, rows } = buildRows(panel, series);
    const cols = organize(panel, rawCols);
    const defaults = panel.fieldConfig.defaults;
    const colCfg = new Map(cols.map((c) => [c.name, fieldConfigFor(panel, { name: c.name, labels: {}, refId: c.name.replace(/^Value #/, '') }, ctx)]));
    for (const o of panel.options?.sortBy || []) if (sortBy == null && o.displayName) { sortBy = o.displayName; desc = o.desc !== false; }
    const get = (row, c) => (c.kind === 'time' ? row.time : c.kind === 'label' ? row.labels[c.name] ?? '' : row.values[c.name] ?? null);
    if (sortBy != null) {
      const c = cols.find((x) => x.name === sortBy || x.title === sortBy);
      if (c) {
        rows.sort((a, b) => {
          const x = get(a, c);
          const y = get(b, c);
          const r = typeof x === 'number' && typeof y === 'number' ? x - y : String(x ?? '').localeCompare(String(y ?? ''), undefined, { numeric: true });
          return desc ? -r : r;
        });
      }
    }
    const table = el('table', 'data-table');
    const thead = el('thead');
    const htr = el('tr');
    for (const c of cols) {
      const cfg = colCfg.get(c.name);
      const title = cfg.displayName ? cfg.name : c.title;
      const btn = el('button', { type: 'button', class: 'th-sort' }, title);
      const th = el('th', { scope: 'col', class: c.kind === 'value' ? 'num' : null }, btn);
      if (sortBy === c.name) th.setAttribute('aria-sort', desc ? 'descending' : 'ascending');
      btn.addEventListener('click', () => {
        if (sortBy === c.name) desc = !desc;
        else { sortBy = c.name; desc = c.kind === 'value'; }
        draw();
      });
      htr.appendChild(th);
    }
    thead.appendChild(htr);
    const tbody = el('tbody');
    for (const row of rows) {
      const tr = el('tr');
      for (const c of cols) {
        const cfg = colCfg.get(c.name);
        const v = get(row, c);
        let text;
        if (c.kind === 'time') text = v == null ? '' : new Date(v).toLocaleString();
        else if (c.kind === 'label') text = String(v);
        else {
          const mapped = mapValue(cfg.mappings, v);
          text = mapped?.text ?? formatValue(v, cfg.unit ?? defaults.unit, cfg.decimals ?? defaults.decimals);
        }
        const td = el('td', c.kind === 'value' ? 'num' : null);
        const link = (cfg.links || []).map((l) => resolveLink(l, ctx, { series: row.series, value: v, time: row.time })).find(Boolean);
        if (link) {
          const a = el('a', { href: link.url }, text);
          if (link.targetBlank) { a.target = '_blank'; a.rel = 'noopener noreferrer'; }
          td.appendChild(a);
        } else td.textContent = text;
        const mode = cfg.custom?.cellOptions?.type || cfg.custom?.displayMode;
        if (c.kind === 'value' && v != null && mode && mode !== 'auto') {
          const color = resolveColor(thresholdColor(cfg.thresholds, v, cfg.min ?? 0, cfg.max ?? 100) || 'green', '--ok');
          if (mode === 'color-background' || mode === 'color-background-solid') {
            td.style.backgroundColor = color;
            td.classList.add(contrastClass(color));
          } else if (mode === 'color-text') {
            td.style.color = color;
          }
        }
        tr.appendChild(td);
      }
      tbody.appendChild(tr);
    }
    table.append(thead, tbody);
    wrap.replaceChildren(table);
    return rows.length ? 'data' : 'nodata';
  }

  return {
    update(data) {
      last = data;
      if (!data.series.length) {
        wrap.replaceChildren();
        return 'nodata';
      }
      return draw();
    },
    destroy() { wrap.remove(); },
  };
}
