// The time range every page shares, in Grafana's URL form: `from=now-6h&to=now`
// or epoch milliseconds, `refresh=30s`. Pages read the range from the URL and
// learn about changes from `belfry:timerange` events on `document`; a listener
// that redraws in place calls `preventDefault()`, otherwise the page is
// reloaded at the new URL (server-rendered pages read the range from it).

const UNIT_MS = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  M: 30 * 86_400_000,
  y: 365 * 86_400_000,
};

let defaults = { from: 'now-6h', to: 'now' };

/** Dashboards bring their own default range (`time` in the model). */
export function setDefaultRange(from, to) {
  if (from) defaults = { from: String(from), to: String(to || 'now') };
  // The time picker names the range; it learns of the new default this way.
  document.dispatchEvent(new CustomEvent('belfry:rangedefaults', { detail: { ...defaults } }));
}

/** Parses a duration such as `5m`, `1h30m`, `250ms`, `2d` into milliseconds, or null. */
export function parseDuration(text) {
  if (text == null) return null;
  const s = String(text).trim();
  if (s === '') return null;
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  const re = /(\d+(?:\.\d+)?)(ms|[smhdwMy])/g;
  let total = 0;
  let consumed = 0;
  let m;
  while ((m = re.exec(s)) !== null) {
    if (m.index !== consumed) return null;
    consumed = re.lastIndex;
    total += m[2] === 'ms' ? Number(m[1]) : Number(m[1]) * UNIT_MS[m[2]];
  }
  return consumed === s.length && consumed > 0 ? total : null;
}

/** Formats milliseconds as a Prometheus duration (`90s` → `1m30s`; whole units only). */
export function formatDuration(ms) {
  let s = Math.max(0, Math.round(ms / 1000));
  if (s === 0) return `${Math.max(1, Math.round(ms))}ms`;
  const parts = [];
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60], ['s', 1]]) {
    if (s >= size) {
      parts.push(`${Math.floor(s / size)}${unit}`);
      s %= size;
    }
  }
  return parts.join('');
}

function startOf(date, unit) {
  const d = new Date(date);
  switch (unit) {
    case 'y': d.setMonth(0, 1); d.setHours(0, 0, 0, 0); break;
    case 'M': d.setDate(1); d.setHours(0, 0, 0, 0); break;
    case 'w': d.setDate(d.getDate() - d.getDay()); d.setHours(0, 0, 0, 0); break;
    case 'd': d.setHours(0, 0, 0, 0); break;
    case 'h': d.setMinutes(0, 0, 0); break;
    case 'm': d.setSeconds(0, 0); break;
    case 's': d.setMilliseconds(0); break;
    default: return null;
  }
  return d.getTime();
}

function endOf(date, unit) {
  const start = startOf(date, unit);
  if (start == null) return null;
  const d = new Date(start);
  switch (unit) {
    case 'y': d.setFullYear(d.getFullYear() + 1); break;
    case 'M': d.setMonth(d.getMonth() + 1); break;
    case 'w': d.setDate(d.getDate() + 7); break;
    case 'd': d.setDate(d.getDate() + 1); break;
    default: d.setTime(start + UNIT_MS[unit]);
  }
  return d.getTime() - 1;
}

/**
 * Parses one end of a range: `now`, `now-6h`, `now/d`, `now-7d/d`, `now-1h+5m`,
 * epoch milliseconds, or an ISO date. `roundUp` picks the end of a rounded unit
 * (for `to`), as Grafana does. Returns epoch ms or null.
 */
export function parseTime(text, roundUp = false, now = Date.now()) {
  if (text == null) return null;
  const s = String(text).trim();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    // Seconds are accepted too (10 digits), though the URL form is milliseconds.
    return s.length <= 10 ? n * 1000 : n;
  }
  if (!s.startsWith('now')) {
    const t = Date.parse(s);
    return Number.isNaN(t) ? null : t;
  }
  let t = now;
  let rest = s.slice(3);
  const re = /^([+-])(\d+)([smhdwMy])|^\/([smhdwMy])/;
  while (rest.length > 0) {
    const m = re.exec(rest);
    if (!m) return null;
    if (m[4]) {
      t = roundUp ? endOf(t, m[4]) : startOf(t, m[4]);
    } else {
      const n = Number(m[2]);
      const unit = m[3];
      if (unit === 'M' || unit === 'y') {
        const d = new Date(t);
        const sign = m[1] === '-' ? -1 : 1;
        if (unit === 'M') d.setMonth(d.getMonth() + sign * n);
        else d.setFullYear(d.getFullYear() + sign * n);
        t = d.getTime();
      } else {
        t += (m[1] === '-' ? -1 : 1) * n * UNIT_MS[unit];
      }
    }
    rest = rest.slice(m[0].length);
  }
  return t;
}

/** The range in the URL (or the defaults): `{from, to, raw: {from, to}}`, ms. */
export function getRange(url = new URL(window.location.href), now = Date.now()) {
  let rawFrom = url.searchParams.get('from') || defaults.from;
  let rawTo = url.searchParams.get('to') || defaults.to;
  let from = parseTime(rawFrom, false, now);
  let to = parseTime(rawTo, true, now);
  if (from == null || to == null || from >= to) {
    rawFrom = defaults.from;
    rawTo = defaults.to;
    from = parseTime(rawFrom, false, now);
    to = parseTime(rawTo, true, now);
  }
  return { from, to, raw: { from: rawFrom, to: rawTo } };
}

/** True when the range moves with the clock (a refresh shows new data). */
export function isRelative(raw) {
  return String(raw.from).startsWith('now') || String(raw.to).startsWith('now');
}

/** `from=…&to=…` of the current range, as links between pages carry it. */
export function rangeQuery(range = getRange()) {
  const p = new URLSearchParams({ from: String(range.raw.from), to: String(range.raw.to) });
  return p.toString();
}

function announce(detail, url) {
  const ev = new CustomEvent('belfry:timerange', { detail, cancelable: true });
  const notHandled = document.dispatchEvent(ev);
  // No one redraws in place: the page is server-rendered from the URL.
  if (notHandled) window.location.assign(url.toString());
}

/**
 * Sets the range in the URL (history.pushState) and dispatches
 * `belfry:timerange` with `{from, to, raw}`. `from`/`to` are raw strings
 * (`now-6h`) or epoch ms numbers.
 */
export function setRange(from, to, { replace = false } = {}) {
  const url = new URL(window.location.href);
  const rawFrom = typeof from === 'number' ? String(Math.round(from)) : String(from);
  const rawTo = typeof to === 'number' ? String(Math.round(to)) : String(to);
  url.searchParams.set('from', rawFrom);
  url.searchParams.set('to', rawTo);
  if (url.toString() === window.location.href) return;
  if (replace) history.replaceState(history.state, '', url);
  else history.pushState({ belfryRange: true }, '', url);
  announce(getRange(url), url);
}

/** Zooms out around the centre of the current range by `factor` (Grafana's ctrl-z is 2). */
export function zoomOut(factor = 2, now = Date.now()) {
  const r = getRange();
  const span = r.to - r.from;
  const centre = r.from + span / 2;
  let from = centre - (span * factor) / 2;
  let to = centre + (span * factor) / 2;
  if (to > now) {
    from -= to - now;
    to = now;
  }
  setRange(Math.round(from), Math.round(to));
}

/** The refresh interval in the URL (`30s`) or '' (off). */
export function getRefresh(url = new URL(window.location.href)) {
  const r = url.searchParams.get('refresh') || '';
  return parseDuration(r) ? r : '';
}

/** Sets the refresh interval in the URL (replaceState) and dispatches `belfry:refreshinterval`. */
export function setRefresh(value) {
  const url = new URL(window.location.href);
  if (value && parseDuration(value)) url.searchParams.set('refresh', value);
  else url.searchParams.delete('refresh');
  history.replaceState(history.state, '', url);
  document.dispatchEvent(new CustomEvent('belfry:refreshinterval', { detail: { refresh: getRefresh(url) } }));
}

const NICE_STEPS_S = [
  1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600,
  43200, 86400, 172800, 604800,
];

/**
 * The query step in seconds for a range drawn `widthPx` wide: about one point
 * per pixel (or `maxDataPoints`), at least `minStepS`, rounded up to a nice
 * value, so neighbouring refreshes ask for the same timestamps.
 */
export function stepFor(rangeMs, widthPx, { minStepS = 0, maxDataPoints = 0 } = {}) {
  const points = Math.max(1, maxDataPoints > 0 ? Math.min(maxDataPoints, widthPx || maxDataPoints) : widthPx || 1000);
  const raw = Math.max(rangeMs / 1000 / points, minStepS, 1);
  for (const s of NICE_STEPS_S) if (s >= raw) return s;
  return Math.ceil(raw / 86400) * 86400;
}

/** How a range is named to a person: "Last 6 hours" or "7 Dec 10:00 – 7 Dec 12:00". */
export function describeRange(range, optionLabels = {}) {
  const { raw } = range;
  if (raw.to === 'now' && optionLabels[raw.from]) return optionLabels[raw.from];
  const m = /^now-(\d+)([smhdwMy])$/.exec(raw.from);
  if (raw.to === 'now' && m) {
    const names = { s: 'second', m: 'minute', h: 'hour', d: 'day', w: 'week', M: 'month', y: 'year' };
    const n = Number(m[1]);
    return `Last ${n} ${names[m[2]]}${n === 1 ? '' : 's'}`;
  }
  const fmt = (t) => new Date(t).toLocaleString(undefined, {
    day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit',
  });
  return `${fmt(range.from)} – ${fmt(range.to)}`;
}

// Back and forward through ranges set by pushState redraw in place as well.
window.addEventListener('popstate', () => {
  const url = new URL(window.location.href);
  const ev = new CustomEvent('belfry:timerange', { detail: getRange(url), cancelable: true });
  if (document.dispatchEvent(ev)) window.location.reload();
});
