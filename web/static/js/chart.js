// uPlot behind one small interface, shared by dashboards, Explore and the
// overview: series from a Prometheus matrix, colours from the theme, a
// tooltip listing every series at the cursor, legend toggles, drag to select
// a range (zoom, or open that range's logs and errors), double-click to zoom
// out, annotation markers, threshold lines, resizing with the container.
//
// On a page of its own (Explore, the overview):
//   const data = await (await fetch('/api/v1/query_range', …)).json();
//   const chart = createChart(el, { series: seriesFromMatrix(data.data.result, '{{job}}'), unit: 'reqps' });
//   chart.update({ series: …, range: getRange() });  chart.destroy();
// The range defaults to the URL's; dashboard.css (with uPlot's CSS) is linked on first use.

import uPlot from '../vendor/uplot/uPlot.esm.js';
import { formatValue, axisFormatter } from './units.js';
import { setRange, zoomOut, getRange } from './timerange.js';

/** Tick steps of whole numbers only (1, 2, 5, 10, 20, 50, …). */
const WHOLE_INCRS = Array.from({ length: 16 }, (_, e) => [1, 2, 5].map((m) => m * 10 ** e)).flat();

const STYLESHEETS = ['../css/dashboard.css'];

/** Adds the charts' stylesheets (uPlot's is imported by dashboard.css) once. */
export function ensureStyles() {
  for (const rel of STYLESHEETS) {
    const href = new URL(rel, import.meta.url).pathname;
    if (!document.querySelector(`link[rel="stylesheet"][href="${href}"]`)) {
      const link = document.createElement('link');
      link.rel = 'stylesheet';
      link.href = href;
      document.head.appendChild(link);
    }
  }
}

// ---------------------------------------------------------------- colours

const NAMED = {
  red: '--critical', 'dark-red': '--critical', 'semi-dark-red': '--critical', 'light-red': '--critical', 'super-light-red': '--critical',
  orange: '--warning', 'dark-orange': '--warning', 'semi-dark-orange': '--warning', 'light-orange': '--warning', 'super-light-orange': '--warning',
  yellow: '--warning', 'dark-yellow': '--warning', 'semi-dark-yellow': '--warning', 'light-yellow': '--warning', 'super-light-yellow': '--warning',
  green: '--ok', 'dark-green': '--ok', 'semi-dark-green': '--ok', 'light-green': '--ok', 'super-light-green': '--ok',
  blue: '--info', 'dark-blue': '--info', 'semi-dark-blue': '--info', 'light-blue': '--info', 'super-light-blue': '--info',
  purple: '--series-4', 'dark-purple': '--series-4', 'semi-dark-purple': '--series-4', 'light-purple': '--series-4', 'super-light-purple': '--series-4',
  text: '--fg', critical: '--critical', warning: '--warning', info: '--info', ok: '--ok', accent: '--accent',
};

let probe = null;

/** A CSS custom property of the current theme, e.g. `cssVar('--grid')`. */
export function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

/**
 * A colour as the canvas takes it: Grafana's names (`red`, `semi-dark-green`)
 * map to the theme's severity colours, CSS variables are resolved, the rest
 * (hex, rgb()) passes.
 */
export function resolveColor(color, fallback = '--accent') {
  if (!color) return cssVar(fallback) || '#888';
  const c = String(color).trim();
  if (c === 'transparent') return 'rgba(0,0,0,0)';
  if (NAMED[c]) return cssVar(NAMED[c]) || '#888';
  const v = /^var\((--[\w-]+)\)$/.exec(c);
  if (v) return cssVar(v[1]) || '#888';
  if (c.startsWith('--')) return cssVar(c) || '#888';
  return c;
}

/** The colour with alpha `a`, whatever notation it came in. */
export function withAlpha(color, a) {
  if (!probe) probe = document.createElement('canvas').getContext('2d');
  probe.fillStyle = '#000';
  probe.fillStyle = color;
  const norm = probe.fillStyle; // "#rrggbb" or "rgba(r, g, b, a)"
  if (norm.startsWith('#')) {
    const n = parseInt(norm.slice(1), 16);
    return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${a})`;
  }
  const m = /rgba?\(([^,]+),([^,]+),([^,)]+)/.exec(norm);
  return m ? `rgba(${m[1].trim()}, ${m[2].trim()}, ${m[3].trim()}, ${a})` : color;
}

/** The theme's series palette, `--series-1` … `--series-10`. */
export function palette() {
  const out = [];
  for (let i = 1; i <= 10; i += 1) out.push(cssVar(`--series-${i}`) || '#7eb26d');
  return out;
}

// ------------------------------------------------------------ series data

/** Expands Grafana's legendFormat (`{{endpoint}} {{ status }}`); empty → `name{labels}`. */
export function legendName(labels, legendFormat) {
  const fmt = legendFormat == null ? '' : String(legendFormat);
  if (fmt === '' || fmt === '__auto') {
    const name = labels.__name__ || '';
    const rest = Object.keys(labels).filter((k) => k !== '__name__').sort()
      .map((k) => `${k}="${labels[k]}"`).join(', ');
    if (!name && !rest) return '{}';
    return rest ? `${name}{${rest}}` : name;
  }
  return fmt.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (_, k) => (labels[k] ?? ''));
}

/**
 * Series from a Prometheus matrix (or vector): `[{name, labels, refId, points:
 * [[tSeconds, value]]}]`; values are numbers, NaN for "NaN", ±Infinity kept.
 */
export function seriesFromMatrix(result, legendFormat, refId = 'A') {
  const out = [];
  for (const r of result || []) {
    const labels = r.metric || {};
    let pts;
    if (Array.isArray(r.values)) pts = r.values.map(([t, v]) => [Number(t), Number(v)]);
    else if (Array.isArray(r.value)) pts = [[Number(r.value[0]), Number(r.value[1])]];
    else pts = [];
    out.push({ name: legendName(labels, legendFormat), labels, refId, points: pts });
  }
  return out;
}

/** Aligns series on one sorted timestamp array: `{xs, ys}` with nulls where a series has no point. */
export function alignSeries(series) {
  let xs = null;
  // The common case: every series has the same timestamps (one step).
  const first = series[0]?.points;
  if (first && series.every((s) => s.points.length === first.length
    && (s.points.length === 0 || (s.points[0][0] === first[0][0] && s.points[s.points.length - 1][0] === first[first.length - 1][0])))) {
    xs = first.map((p) => p[0]);
    return { xs, ys: series.map((s) => s.points.map((p) => (Number.isFinite(p[1]) ? p[1] : null))) };
  }
  const set = new Set();
  for (const s of series) for (const p of s.points) set.add(p[0]);
  xs = Array.from(set).sort((a, b) => a - b);
  const index = new Map(xs.map((t, i) => [t, i]));
  const ys = series.map((s) => {
    const arr = new Array(xs.length).fill(null);
    for (const [t, v] of s.points) arr[index.get(t)] = Number.isFinite(v) ? v : null;
    return arr;
  });
  return { xs, ys };
}

/**
 * The service of a set of series: their `service`, `job` or `app` label, when
 * all agree (series without any of them do not disagree).
 */
export function serviceOf(seriesLabels) {
  let found = null;
  for (const labels of seriesLabels) {
    const v = labels.service ?? labels.job ?? labels.app;
    if (v == null) continue;
    if (found != null && found !== v) return null;
    found = v;
  }
  return found;
}

// ------------------------------------------------------------ annotations

const annotationCache = new Map();

/**
 * Annotations (alerts, releases) for a range from `/api/belfry/annotations`;
 * a failed fetch gives none, quietly: markers are an extra, not the chart.
 */
export function fetchAnnotations(fromMs, toMs, signal) {
  const start = Math.floor(fromMs / 1000);
  const end = Math.ceil(toMs / 1000);
  const key = `${start}:${end}`;
  if (annotationCache.has(key)) return annotationCache.get(key);
  const p = fetch(`/api/belfry/annotations?start=${start}&end=${end}`, { signal, credentials: 'same-origin' })
    .then((r) => (r.ok ? r.json() : null))
    .then((j) => (j && j.status === 'success' && Array.isArray(j.data) ? j.data : []))
    .catch(() => []);
  annotationCache.set(key, p);
  if (annotationCache.size > 20) annotationCache.delete(annotationCache.keys().next().value);
  return p;
}

function annotationColor(a) {
  if (a.kind === 'release') return cssVar('--accent');
  return cssVar(`--${a.severity === 'critical' || a.severity === 'warning' || a.severity === 'info' ? a.severity : 'warning'}`);
}

// ------------------------------------------------------------------ chart

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

function timeLabel(ms, timezone) {
  return new Date(ms).toLocaleString(undefined, {
    year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit',
    timeZone: timezone === 'utc' ? 'UTC' : undefined, timeZoneName: timezone === 'utc' ? 'short' : undefined,
  });
}

function axisSize(self, values, axisIdx, cycleNum) {
  const axis = self.axes[axisIdx];
  if (cycleNum > 1) return axis._size;
  let size = axis.ticks.size + axis.gap;
  const longest = (values || []).reduce((a, v) => (v && v.length > a.length ? v : a), '');
  if (longest !== '') {
    self.ctx.font = axis.font[0];
    size += self.ctx.measureText(longest).width / devicePixelRatio;
  }
  return Math.ceil(size);
}

/**
 * A chart in `container` (which gives the size). Options:
 *  series: [{name, labels, points | data, color, unit, hidden, fillOpacity, lineWidth, drawStyle}]
 *  range: {from, to} ms (the x axis shows all of it), unit, decimals, min, max, log
 *  thresholds: {mode, steps}, thresholdsStyle: off|line|dashed|area|line+area|dashed+area
 *  stacking: none|normal, drawStyle: line|bars|points, lineInterpolation, fillOpacity, lineWidth,
 *  legend: list|table|hidden, tooltip: multi|single|none,
 *  annotations: [{time, timeEnd, kind, title, text, severity, link}],
 *  syncKey, onZoom(fromMs, toMs), onZoomOut(),
 *  timezone: 'utc' or the browser's (anything else),
 *  service: the service for the logs/errors links when the series' labels name none,
 *  links(seriesIndex, pointIndex, timeMs, value): data links shown when a click pins the tooltip
 * Returns `{update(opts), destroy(), uplot}`.
 */
export function createChart(container, options) {
  ensureStyles();
  let opts = { range: getRange(), annotations: [], ...options };
  let u = null;
  let raw = null; // unstacked values per series, for the tooltip
  const root = el('div', 'chart');
  container.appendChild(root);
  const tooltip = el('div', 'chart-tooltip');
  tooltip.setAttribute('role', 'tooltip');
  tooltip.hidden = true;
  let menu = null;

  function closeMenu() {
    if (menu) {
      menu.remove();
      menu = null;
      document.removeEventListener('keydown', onMenuKey, true);
      document.removeEventListener('pointerdown', onOutside, true);
    }
  }

  function onMenuKey(e) {
    if (e.key === 'Escape') {
      e.stopPropagation();
      closeMenu();
      if (u) u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    }
  }

  function onOutside(e) {
    if (menu && !menu.contains(e.target)) {
      closeMenu();
      if (u) u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
    }
  }

  function openMenu(self) {
    closeMenu();
    const sel = self.select;
    const fromMs = Math.round(self.posToVal(sel.left, 'x') * 1000);
    const toMs = Math.round(self.posToVal(sel.left + sel.width, 'x') * 1000);
    if (!(toMs > fromMs)) return;
    const visible = opts.series.filter((s, i) => self.series[i + 1]?.show !== false);
    const service = serviceOf(visible.map((s) => s.labels || {})) ?? opts.service ?? null;
    const q = new URLSearchParams({ from: String(fromMs), to: String(toMs) });
    if (service) q.set('service', service);
    menu = el('div', 'chart-menu');
    menu.setAttribute('role', 'menu');
    menu.setAttribute('aria-label', `Range ${timeLabel(fromMs, opts.timezone)} to ${timeLabel(toMs, opts.timezone)}`);
    const zoom = el('button', 'chart-menu-item', 'Zoom to range');
    zoom.type = 'button';
    zoom.setAttribute('role', 'menuitem');
    zoom.addEventListener('click', () => {
      closeMenu();
      (opts.onZoom || ((f, t) => setRange(f, t)))(fromMs, toMs);
    });
    const logs = el('a', 'chart-menu-item', 'Logs of this range');
    logs.href = `/logs?${q}`;
    logs.setAttribute('role', 'menuitem');
    const errors = el('a', 'chart-menu-item', 'Errors of this range');
    errors.href = `/errors?${q}`;
    errors.setAttribute('role', 'menuitem');
    menu.append(zoom, logs, errors);
    const items = [zoom, logs, errors];
    menu.addEventListener('keydown', (e) => {
      const i = items.indexOf(document.activeElement);
      if (e.key === 'ArrowDown') { e.preventDefault(); items[(i + 1) % items.length].focus(); }
      if (e.key === 'ArrowUp') { e.preventDefault(); items[(i + items.length - 1) % items.length].focus(); }
    });
    root.appendChild(menu);
    const left = Math.min(sel.left + sel.width + self.bbox.left / devicePixelRatio, root.clientWidth - menu.offsetWidth - 4);
    menu.style.left = `${Math.max(0, left)}px`;
    menu.style.top = `${Math.max(0, sel.top + 8)}px`;
    document.addEventListener('keydown', onMenuKey, true);
    document.addEventListener('pointerdown', onOutside, true);
    zoom.focus({ preventScroll: true });
  }

  // A click pins the tooltip and adds the data links of the series nearest
  // the pointer; Esc or a click elsewhere lets it go.
  let pinned = false;

  function unpin() {
    if (!pinned) return;
    pinned = false;
    tooltip.classList.remove('pinned');
    tooltip.hidden = true;
    document.removeEventListener('keydown', onPinKey, true);
    document.removeEventListener('pointerdown', onPinOutside, true);
  }

  function onPinKey(e) {
    if (e.key === 'Escape') {
      e.stopPropagation();
      unpin();
    }
  }

  function onPinOutside(e) {
    if (!tooltip.contains(e.target)) unpin();
  }

  function pin(self) {
    if (!opts.links || menu || self.select.width > 0) return;
    const idx = self.cursor.idx;
    if (idx == null) return;
    const yv = self.posToVal(self.cursor.top, 'y');
    let best = -1;
    let dist = Infinity;
    for (let i = 1; i < self.series.length; i += 1) {
      const v = raw[i - 1]?.[idx];
      if (!self.series[i].show || v == null) continue;
      const d = Math.abs((opts.stacking === 'normal' ? self.data[i][idx] : v) - yv);
      if (d < dist) { dist = d; best = i - 1; }
    }
    if (best < 0) return;
    const links = opts.links(best, idx, self.data[0][idx] * 1000, raw[best][idx]) || [];
    if (!links.length) return;
    const box = el('div', 'chart-tooltip-links');
    box.appendChild(el('div', 'chart-tooltip-time', opts.series[best].name));
    for (const l of links) {
      const a = el('a', 'chart-tooltip-link', l.title);
      a.href = l.url;
      if (l.targetBlank) { a.target = '_blank'; a.rel = 'noopener noreferrer'; }
      box.appendChild(a);
    }
    tooltip.appendChild(box);
    tooltip.hidden = false;
    pinned = true;
    tooltip.classList.add('pinned');
    document.addEventListener('keydown', onPinKey, true);
    document.addEventListener('pointerdown', onPinOutside, true);
    box.querySelector('a')?.focus({ preventScroll: true });
  }

  function showTooltip(self) {
    if (pinned) return;
    const idx = self.cursor.idx;
    if (idx == null || opts.tooltip === 'none' || self.cursor.event == null || menu) {
      tooltip.hidden = true;
      return;
    }
    const t = self.data[0][idx];
    if (opts.heatmap) {
      const hm = opts.heatmap;
      const b = Math.floor(self.posToVal(self.cursor.top, 'y'));
      if (b < 0 || b >= hm.buckets.length) { tooltip.hidden = true; return; }
      const count = hm.counts[b][idx];
      tooltip.replaceChildren(el('div', 'chart-tooltip-time', timeLabel(t * 1000, opts.timezone)),
        el('div', 'chart-tooltip-row', `${b === 0 ? '≤ ' : `${hm.buckets[b - 1]} – `}${hm.buckets[b]}`),
        el('div', 'chart-tooltip-row', `count: ${count == null ? '–' : formatValue(count, 'short')}`));
      tooltip.hidden = false;
      const over = self.over.getBoundingClientRect();
      const rootBox = root.getBoundingClientRect();
      const x = over.left - rootBox.left + self.cursor.left;
      let left = x + 12;
      if (left + tooltip.offsetWidth > rootBox.width) left = Math.max(0, x - tooltip.offsetWidth - 12);
      tooltip.style.left = `${left}px`;
      tooltip.style.top = `${Math.max(0, over.top - rootBox.top + self.cursor.top + 12)}px`;
      return;
    }
    const rows = [];
    for (let i = 1; i < self.series.length; i += 1) {
      if (!self.series[i].show) continue;
      const v = raw[i - 1][idx];
      rows.push({ i, v, s: opts.series[i - 1] });
    }
    rows.sort((a, b) => (b.v ?? -Infinity) - (a.v ?? -Infinity));
    let shown = rows;
    if (opts.tooltip === 'single') {
      // The series nearest the cursor vertically.
      const yv = self.posToVal(self.cursor.top, 'y');
      shown = rows.filter((r) => r.v != null).sort((a, b) => Math.abs(a.v - yv) - Math.abs(b.v - yv)).slice(0, 1);
    }
    tooltip.replaceChildren(el('div', 'chart-tooltip-time', timeLabel(t * 1000, opts.timezone)));
    const max = 20;
    for (const r of shown.slice(0, max)) {
      const row = el('div', 'chart-tooltip-row');
      const sw = el('span', 'swatch');
      sw.style.background = self.series[r.i].stroke();
      row.append(sw, el('span', 'chart-tooltip-name', r.s.name),
        el('span', 'chart-tooltip-value', formatValue(r.v, r.s.unit || opts.unit, r.s.decimals ?? opts.decimals)));
      tooltip.appendChild(row);
    }
    if (shown.length > max) tooltip.appendChild(el('div', 'chart-tooltip-more', `+${shown.length - max} more`));
    tooltip.hidden = false;
    const over = self.over.getBoundingClientRect();
    const rootBox = root.getBoundingClientRect();
    const x = over.left - rootBox.left + self.cursor.left;
    const y = over.top - rootBox.top + self.cursor.top;
    const w = tooltip.offsetWidth;
    const h = tooltip.offsetHeight;
    let left = x + 12;
    if (left + w > rootBox.width) left = Math.max(0, x - w - 12);
    let top = y + 12;
    if (top + h > rootBox.height) top = Math.max(0, rootBox.height - h);
    tooltip.style.left = `${left}px`;
    tooltip.style.top = `${top}px`;
  }

  function annotationTooltip(a, anchor) {
    tooltip.replaceChildren();
    const head = el('div', 'chart-tooltip-time', `${timeLabel(a.time, opts.timezone)}${a.timeEnd ? ` – ${timeLabel(a.timeEnd, opts.timezone)}` : ''}`);
    const word = a.kind === 'release' ? 'Release' : (a.severity ? a.severity[0].toUpperCase() + a.severity.slice(1) : 'Alert');
    const title = el('div', 'chart-tooltip-title');
    const badge = el('span', `badge badge-${a.kind === 'release' ? 'release' : (a.severity || 'warning')}`, word);
    title.append(badge, document.createTextNode(` ${a.title || ''}`));
    tooltip.append(head, title);
    if (a.text) tooltip.appendChild(el('div', 'chart-tooltip-text', a.text));
    tooltip.hidden = false;
    const rootBox = root.getBoundingClientRect();
    const box = anchor.getBoundingClientRect();
    let left = box.left - rootBox.left + 10;
    if (left + tooltip.offsetWidth > rootBox.width) left = Math.max(0, box.left - rootBox.left - tooltip.offsetWidth - 4);
    tooltip.style.left = `${left}px`;
    tooltip.style.top = `${Math.max(0, box.top - rootBox.top - tooltip.offsetHeight - 4)}px`;
  }

  const markers = [];
  function placeAnnotations(self) {
    for (const m of markers) m.remove();
    markers.length = 0;
    const list = opts.annotations || [];
    const [min, max] = [self.scales.x.min, self.scales.x.max];
    for (const a of list) {
      const t = a.time / 1000;
      if (t < min || t > max) continue;
      const m = el(a.link ? 'a' : 'span', `chart-annotation chart-annotation-${a.kind === 'release' ? 'release' : (a.severity || 'warning')}`);
      if (a.link) m.href = a.link;
      else m.tabIndex = 0;
      m.setAttribute('aria-label', `${a.kind === 'release' ? 'Release' : 'Alert'}: ${a.title || ''} at ${timeLabel(a.time, opts.timezone)}`);
      m.style.left = `${self.valToPos(t, 'x')}px`;
      const show = () => annotationTooltip(a, m);
      const hide = () => { tooltip.hidden = true; };
      m.addEventListener('mouseenter', show);
      m.addEventListener('focus', show);
      m.addEventListener('mouseleave', hide);
      m.addEventListener('blur', hide);
      self.over.appendChild(m);
      markers.push(m);
    }
  }

  function drawAnnotations(self) {
    const { ctx } = self;
    const { top, height } = self.bbox;
    ctx.save();
    for (const a of opts.annotations || []) {
      const x0 = self.valToPos(a.time / 1000, 'x', true);
      const color = annotationColor(a);
      if (a.timeEnd && a.timeEnd > a.time) {
        const x1 = self.valToPos(a.timeEnd / 1000, 'x', true);
        ctx.fillStyle = withAlpha(color, 0.08);
        const l = Math.max(self.bbox.left, x0);
        const r = Math.min(self.bbox.left + self.bbox.width, x1);
        if (r > l) ctx.fillRect(l, top, r - l, height);
      }
      if (x0 < self.bbox.left || x0 > self.bbox.left + self.bbox.width) continue;
      ctx.strokeStyle = withAlpha(color, 0.8);
      ctx.lineWidth = devicePixelRatio;
      ctx.setLineDash([4 * devicePixelRatio, 4 * devicePixelRatio]);
      ctx.beginPath();
      ctx.moveTo(Math.round(x0) + 0.5, top);
      ctx.lineTo(Math.round(x0) + 0.5, top + height);
      ctx.stroke();
    }
    ctx.restore();
  }

  function drawThresholds(self) {
    const style = opts.thresholdsStyle || 'off';
    const steps = (opts.thresholds?.steps || []);
    if (style === 'off' || steps.length < 2 || opts.thresholds?.mode === 'percentage') return;
    const { ctx } = self;
    const { left, top, width, height } = self.bbox;
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    if (style.includes('area')) {
      for (let i = 0; i < steps.length; i += 1) {
        const lo = steps[i].value == null ? self.scales.y.min : steps[i].value;
        const hi = i + 1 < steps.length ? steps[i + 1].value : self.scales.y.max;
        const y0 = self.valToPos(lo, 'y', true);
        const y1 = self.valToPos(hi, 'y', true);
        ctx.fillStyle = withAlpha(resolveColor(steps[i].color), 0.09);
        ctx.fillRect(left, Math.min(y0, y1), width, Math.abs(y0 - y1));
      }
    }
    if (style.includes('line') || style.includes('dashed')) {
      ctx.lineWidth = devicePixelRatio;
      if (style.includes('dashed')) ctx.setLineDash([6 * devicePixelRatio, 4 * devicePixelRatio]);
      for (const s of steps) {
        if (s.value == null) continue;
        const y = Math.round(self.valToPos(s.value, 'y', true)) + 0.5;
        ctx.strokeStyle = resolveColor(s.color);
        ctx.beginPath();
        ctx.moveTo(left, y);
        ctx.lineTo(left + width, y);
        ctx.stroke();
      }
    }
    ctx.restore();
  }

  function drawHeatmap(self) {
    const hm = opts.heatmap;
    const xs = self.data[0];
    const { ctx } = self;
    const { left, top, width, height } = self.bbox;
    const color = resolveColor(hm.color || '--accent');
    let max = 0;
    for (const row of hm.counts) for (const v of row) if (v != null && v > max) max = v;
    if (max <= 0) return;
    ctx.save();
    ctx.beginPath();
    ctx.rect(left, top, width, height);
    ctx.clip();
    const step = xs.length > 1 ? xs[1] - xs[0] : 60;
    for (let b = 0; b < hm.counts.length; b += 1) {
      const y0 = self.valToPos(b + 1, 'y', true);
      const y1 = self.valToPos(b, 'y', true);
      const row = hm.counts[b];
      for (let i = 0; i < xs.length; i += 1) {
        const v = row[i];
        if (v == null || v <= 0) continue;
        const x0 = self.valToPos(xs[i] - step, 'x', true);
        const x1 = self.valToPos(xs[i], 'x', true);
        // Square root: a few slow requests stay visible beside many fast ones.
        ctx.fillStyle = withAlpha(color, 0.12 + 0.88 * Math.sqrt(v / max));
        ctx.fillRect(x0, y0, Math.max(1, x1 - x0 - 0.5), Math.max(1, y1 - y0 - 0.5));
      }
    }
    ctx.restore();
  }

  function dataOf(o) {
    if (o.heatmap) return { xs: o.xs, ys: [o.xs.map(() => null)] };
    if (o.xs) return { xs: o.xs, ys: o.series.map((x) => x.data) };
    return alignSeries(o.series);
  }

  // A refresh with the same series and options only swaps the data: no
  // flicker, the cursor and hidden series stay, and it costs far less.
  function sameShape(a, b) {
    if (!!a.heatmap !== !!b.heatmap) return false;
    if (a.heatmap) return a.heatmap.buckets.join('\u0000') === b.heatmap.buckets.join('\u0000');
    if (a.series.length !== b.series.length) return false;
    const keys = ['name', 'color', 'drawStyle', 'unit', 'decimals', 'fillOpacity', 'lineWidth', 'lineInterpolation', 'pointSize'];
    if (!a.series.every((x, i) => keys.every((k) => x[k] === b.series[i][k]))) return false;
    const top = ['unit', 'decimals', 'stacking', 'thresholdsStyle', 'min', 'max', 'log', 'legend', 'tooltip', 'drawStyle', 'fillOpacity', 'lineWidth', 'lineInterpolation', 'spanNulls', 'syncKey'];
    return top.every((k) => a[k] === b[k]) && JSON.stringify(a.thresholds ?? null) === JSON.stringify(b.thresholds ?? null);
  }

  function swapData() {
    unpin();
    closeMenu();
    const { xs, ys } = dataOf(opts);
    raw = ys;
    const shows = u.series.slice(1).map((x) => x.show);
    u.setData([xs, ...(opts.stacking === 'normal' ? stackedData(ys, shows) : ys)]);
  }

  function stackedData(ys, shows) {
    const acc = new Array(ys[0]?.length || 0).fill(0);
    return ys.map((arr, i) => {
      if (!shows[i]) return arr.map(() => null);
      return arr.map((v, j) => {
        if (v == null) return acc[j];
        acc[j] += v;
        return acc[j];
      });
    });
  }

  function build() {
    closeMenu();
    unpin();
    if (u) {
      u.destroy();
      u = null;
    }
    const fg = cssVar('--fg') || '#222';
    const muted = cssVar('--muted') || '#666';
    const grid = cssVar('--grid') || 'rgba(128,128,128,0.2)';
    const pal = palette();
    const { xs, ys } = dataOf(opts);
    raw = ys;
    if (opts.heatmap) opts.series = [{ name: 'count', labels: opts.heatmap.labels || {} }];
    const shows = opts.series.map((s) => !s.hidden);
    const stacked = opts.stacking === 'normal';
    const data = [xs, ...(stacked ? stackedData(ys, shows) : ys)];
    const series = [{}];
    if (opts.heatmap) {
      series.push({ label: 'count', stroke: 'rgba(0,0,0,0)', paths: () => null, points: { show: false } });
    } else opts.series.forEach((s, i) => {
      const color = s.color ? resolveColor(s.color) : pal[i % pal.length];
      const drawStyle = s.drawStyle || opts.drawStyle || 'line';
      const fillOpacity = (s.fillOpacity ?? opts.fillOpacity ?? (stacked ? 40 : 10)) / 100;
      const lineWidth = s.lineWidth ?? opts.lineWidth ?? 1;
      let paths;
      if (drawStyle === 'bars') paths = uPlot.paths.bars({ size: [0.7, 60] });
      else if (drawStyle === 'points') paths = () => null;
      else if ((s.lineInterpolation || opts.lineInterpolation) === 'smooth') paths = uPlot.paths.spline();
      else if ((s.lineInterpolation || opts.lineInterpolation) === 'stepAfter') paths = uPlot.paths.stepped({ align: 1 });
      else if ((s.lineInterpolation || opts.lineInterpolation) === 'stepBefore') paths = uPlot.paths.stepped({ align: -1 });
      series.push({
        label: s.name,
        stroke: color,
        width: lineWidth,
        fill: fillOpacity > 0 ? withAlpha(color, drawStyle === 'bars' ? Math.max(fillOpacity, 0.6) : fillOpacity) : undefined,
        paths,
        points: { show: drawStyle === 'points' ? true : undefined, size: s.pointSize || opts.pointSize || 5 },
        spanGaps: opts.spanNulls === true,
        show: shows[i],
        value: (self, v, si, idx) => formatValue(idx == null ? null : raw[si - 1][idx], s.unit || opts.unit, s.decimals ?? opts.decimals),
      });
    });
    const bands = [];
    if (stacked) for (let i = 2; i < series.length; i += 1) bands.push({ series: [i, i - 1] });
    const yRange = (self, dmin, dmax) => {
      let lo = opts.min ?? dmin;
      let hi = opts.max ?? dmax;
      if (lo == null || hi == null) return [0, 1];
      if (opts.min == null && lo > 0 && (opts.drawStyle === 'bars' || stacked)) lo = 0;
      if (lo === hi) {
        hi = lo === 0 ? 1 : hi + Math.abs(hi) * 0.1;
        if (opts.min == null) lo = lo === 0 ? 0 : lo - Math.abs(lo) * 0.1;
      }
      const [a, b] = uPlot.rangeNum(lo, hi, 0.1, true);
      return [opts.min ?? (lo >= 0 && a < 0 ? 0 : a), opts.max ?? b];
    };
    const size = sizeOf();
    const uopts = {
      width: size.width,
      height: size.height,
      series,
      bands,
      pxAlign: 0,
      // Grafana's dashboard `timezone`: "utc" draws the axis in UTC, anything else in the browser's zone.
      tzDate: opts.timezone === 'utc' ? (ts) => uPlot.tzDate(new Date(ts * 1e3), 'Etc/UTC') : undefined,
      legend: { show: opts.legend !== 'hidden' && !opts.heatmap, live: false },
      cursor: {
        sync: opts.syncKey ? { key: opts.syncKey } : undefined,
        drag: { x: true, y: false, setScale: false },
        points: { size: 6 },
        bind: {
          // uPlot listens passively, so no preventDefault: its own reset is skipped by returning null.
          dblclick: () => () => {
            (opts.onZoomOut || (() => zoomOut(2)))();
            return null;
          },
        },
      },
      select: { show: true },
      scales: {
        x: { time: true, range: () => [opts.range.from / 1000, opts.range.to / 1000] },
        y: opts.heatmap ? { range: () => [0, opts.heatmap.buckets.length] }
          : opts.log ? { distr: 3, log: opts.log } : { range: yRange },
      },
      axes: [
        { stroke: muted, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 }, font: '11px system-ui, sans-serif' },
        {
          stroke: muted,
          grid: { stroke: grid, width: 1 },
          ticks: { stroke: grid, width: 1 },
          font: '11px system-ui, sans-serif',
          values: opts.heatmap ? (self, splits) => splits.map((v) => (Number.isInteger(v) && v > 0 ? opts.heatmap.buckets[v - 1] : ''))
            : axisFormatter(opts.unit, opts.decimals),
          splits: opts.heatmap ? () => {
            const n = opts.heatmap.buckets.length;
            const every = Math.max(1, Math.ceil(n / 8));
            const out = [];
            for (let i = every; i <= n; i += every) out.push(i);
            return out;
          } : undefined,
          size: axisSize,
          // Whole-number steps where the panel asks for no decimals, as
          // Grafana does: ticks 0.2 apart would all read "0" or "1".
          ...(opts.decimals === 0 && !opts.heatmap && !opts.log ? { incrs: WHOLE_INCRS } : {}),
        },
      ],
      hooks: {
        drawClear: [(self) => { drawThresholds(self); }],
        draw: [(self) => { if (opts.heatmap) drawHeatmap(self); drawAnnotations(self); placeAnnotations(self); }],
        setCursor: [showTooltip],
        // Only the chart the pointer dragged on opens the menu, not those synced to it.
        setSelect: [(self) => { if (self.select.width > 4 && self.cursor.event != null) openMenu(self); }],
        setSeries: [(self) => {
          if (stacked) {
            const now = self.series.slice(1).map((s) => s.show);
            self.setData([self.data[0], ...stackedData(raw, now)], false);
            self.redraw();
          }
        }],
      },
    };
    u = new uPlot(uopts, data, root);
    root.appendChild(tooltip);
    u.over.addEventListener('mouseleave', () => { if (!pinned) tooltip.hidden = true; });
    u.over.addEventListener('click', () => pin(u));
    root.style.setProperty('--chart-fg', fg);
    // The legend's keyboard reach: each entry is a toggle button for assistive
    // tech. Without live values uPlot draws no row for the x series, so row j
    // is series j + 1.
    root.querySelectorAll('.u-legend .u-series').forEach((tr, j) => {
      tr.tabIndex = 0;
      tr.setAttribute('role', 'button');
      tr.setAttribute('aria-pressed', String(u.series[j + 1]?.show !== false));
      tr.addEventListener('keydown', (e) => {
        if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); tr.click(); }
      });
    });
  }

  function sizeOf() {
    const legend = root.querySelector('.u-legend');
    const lh = legend ? legend.offsetHeight : (opts.legend === 'hidden' || opts.heatmap ? 0 : Math.min(64, 22 * Math.ceil(opts.series.length / 3)));
    return {
      width: Math.max(50, Math.floor(container.clientWidth)),
      height: Math.max(60, Math.floor((opts.height || container.clientHeight) - lh - 4)),
    };
  }

  build();

  let pending = 0;
  const ro = new ResizeObserver(() => {
    cancelAnimationFrame(pending);
    pending = requestAnimationFrame(() => {
      if (!u) return;
      const s = sizeOf();
      if (s.width !== u.width || s.height !== u.height) u.setSize(s);
    });
  });
  ro.observe(container);

  const onTheme = () => build();
  document.addEventListener('belfry:themechange', onTheme);
  // The legend's pressed state follows clicks.
  root.addEventListener('click', (e) => {
    const tr = e.target.closest?.('.u-legend .u-series');
    if (!tr || !u) return;
    const j = Array.prototype.indexOf.call(tr.parentNode.children, tr);
    tr.setAttribute('aria-pressed', String(u.series[j + 1]?.show !== false));
  });

  return {
    get uplot() { return u; },
    update(next) {
      // Hidden series stay hidden across refreshes.
      const hidden = new Set();
      if (u) u.series.forEach((s, i) => { if (i > 0 && !s.show) hidden.add(s.label); });
      const prev = opts;
      opts = { ...opts, ...next };
      if (opts.heatmap) opts.series = [{ name: 'count', labels: opts.heatmap.labels || {} }];
      opts.series = opts.series.map((s) => (hidden.has(s.name) ? { ...s, hidden: true } : s));
      if (u && sameShape(prev, opts)) swapData();
      else build();
    },
    destroy() {
      ro.disconnect();
      document.removeEventListener('belfry:themechange', onTheme);
      closeMenu();
      if (u) u.destroy();
      u = null;
      root.remove();
    },
  };
}


/**
 * The service a query is about, from its equality matchers (`service="x"`,
 * then `job`, then `app`), when every query names the same one; for series
 * whose labels were aggregated away.
 */
export function serviceOfQueries(exprs) {
  let found = null;
  for (const e of exprs) {
    let v = null;
    for (const k of ['service', 'job', 'app']) {
      const m = new RegExp(`[{,]\\s*${k}\\s*=\\s*"([^"]*)"`).exec(e || '');
      if (m) { v = m[1]; break; }
    }
    if (v == null) continue;
    if (found != null && found !== v) return null;
    found = v;
  }
  return found;
}
