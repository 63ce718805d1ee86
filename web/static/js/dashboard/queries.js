// Template interpolation (`$var`, `${var}`, `[[var]]`, `${var:format}` and the
// built-ins `$__interval`, `$__rate_interval`, `$__range`, …) and running a
// panel's targets against the Prometheus or Loki API, one request per target,
// all at once.

import { formatDuration, parseDuration, stepFor } from '../timerange.js';
import { promQuery, promQueryRange, lokiQueryRange } from './api.js';
import { seriesFromMatrix, legendName } from '../chart.js';

const VAR_RE = /\$(\w+)|\[\[([\s\S]+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:}]+))?(?::([^}]+))?\}/g;

/**
 * Escapes a value for a regex matcher inside a PromQL or LogQL double-quoted
 * string, as Grafana's Prometheus data source does: the string's own escaping
 * doubles the backslash (`a.b` → `a\\.b`, which the regex reads as `a\.b`);
 * a single backslash before `.` is a parse error there.
 */
export function regexEscape(v) {
  return String(v).replace(/\\/g, '\\\\\\\\').replace(/[$^*{}[\]'+?.()|]/g, '\\\\$&');
}

/** A lone value of a single-value variable: only what would break the string is escaped. */
function stringEscape(v) {
  return String(v).replace(/\\/g, '\\\\').replace(/'/g, "\\\\'");
}

function formatValues(values, format, v, isAll, isMulti) {
  const list = Array.isArray(values) ? values : [values];
  switch (format) {
    case 'raw': case 'text': return list.join(',');
    case 'regex': return list.length === 1 ? regexEscape(list[0]) : `(${list.map(regexEscape).join('|')})`;
    case 'pipe': return list.join('|');
    case 'csv': return list.join(',');
    case 'json': return JSON.stringify(list.length === 1 && !Array.isArray(values) ? list[0] : list);
    case 'glob': return list.length === 1 ? list[0] : `{${list.join(',')}}`;
    case 'doublequote': return list.map((x) => `"${x}"`).join(',');
    case 'singlequote': return list.map((x) => `'${x}'`).join(',');
    case 'sqlstring': return list.map((x) => `'${String(x).replace(/'/g, "''")}'`).join(',');
    case 'percentencode': return encodeURIComponent(list.join(','));
    case 'queryparam': return list.map((x) => `var-${encodeURIComponent(v)}=${encodeURIComponent(x)}`).join('&');
    case 'lucene': return list.length === 1 ? list[0] : `(${list.map((x) => `"${x}"`).join(' OR ')})`;
    default:
      // Grafana's Prometheus default: a single-value variable as it is; a
      // multi-value or include-All one regex-escaped, several as an alternation.
      if (isAll) return list[0];
      if (!isMulti) return list.length === 1 ? stringEscape(list[0]) : `(${list.map(regexEscape).join('|')})`;
      return list.length === 1 ? regexEscape(list[0]) : `(${list.map(regexEscape).join('|')})`;
  }
}

/**
 * The interpolation context: `values` maps a variable name to its value(s)
 * (`$__all` already resolved to the variable's allValue or `.*`), `text`
 * to its display text, `builtins` the `__` names.
 */
export function makeContext({ values = {}, texts = {}, allSelected = {}, multi = {}, range, intervalMs, rateIntervalMs, dashboard = '', extra = {} }) {
  const rangeMs = range.to - range.from;
  const builtins = {
    __interval: formatDuration(intervalMs),
    __interval_ms: String(Math.round(intervalMs)),
    __rate_interval: formatDuration(rateIntervalMs),
    __rate_interval_ms: String(Math.round(rateIntervalMs)),
    __range: `${Math.round(rangeMs / 1000)}s`,
    __range_s: String(Math.round(rangeMs / 1000)),
    __range_ms: String(Math.round(rangeMs)),
    __from: String(Math.round(range.from)),
    __to: String(Math.round(range.to)),
    __dashboard: dashboard,
    __url_time_range: `from=${encodeURIComponent(range.raw?.from ?? range.from)}&to=${encodeURIComponent(range.raw?.to ?? range.to)}`,
    ...extra,
  };
  return { values, texts, allSelected, multi, builtins, range };
}

/** Replaces variables in `text`; `formatDefault` applies when a reference names no format. */
export function interpolate(text, ctx, formatDefault) {
  if (text == null) return text;
  return String(text).replace(VAR_RE, (match, plain, bracket, bracketFmt, braced, fieldPath, bracedFmt) => {
    const name = plain || bracket || braced;
    const fmt = bracedFmt || bracketFmt || formatDefault;
    if (braced && fieldPath) {
      const key = `${braced}.${fieldPath}`;
      if (key in ctx.builtins) return ctx.builtins[key];
      return match;
    }
    if (name in ctx.builtins) {
      const b = ctx.builtins[name];
      if (name === '__from' || name === '__to') {
        if (fmt === 'date' || fmt === 'date:iso') return new Date(Number(b)).toISOString();
        if (fmt === 'date:seconds') return String(Math.floor(Number(b) / 1000));
      }
      return b;
    }
    if (name === '__all_variables') {
      return Object.keys(ctx.values).map((k) => formatValues(ctx.values[k], 'queryparam', k)).join('&');
    }
    if (!(name in ctx.values)) return match;
    if (fmt === 'text') return [].concat(ctx.texts[name] ?? ctx.values[name]).join(' + ');
    return formatValues(ctx.values[name], fmt, name, ctx.allSelected[name], ctx.multi?.[name]);
  });
}

/** The variable names a text refers to (to know which panels a change concerns). */
export function referencedVariables(text) {
  const out = new Set();
  if (text == null) return out;
  for (const m of String(text).matchAll(VAR_RE)) {
    const name = m[1] || m[2] || m[4];
    if (name && !name.startsWith('__')) out.add(name);
  }
  return out;
}

/**
 * The query interval for a panel: range / points (points = maxDataPoints or
 * the panel's width in pixels), at least the panel's (or target's) `interval`,
 * rounded to a nice step. `$__rate_interval` is Grafana's: max(interval +
 * scrape interval, 4 × scrape interval).
 */
export function panelInterval(panel, target, range, widthPx, ctx, scrapeIntervalS = 15) {
  const minText = interpolate(target?.interval || panel.interval || '', ctx);
  const minMs = parseDuration(String(minText || '').replace(/^>/, '')) || 0;
  const stepS = stepFor(range.to - range.from, widthPx, {
    minStepS: Math.max(minMs / 1000, 0),
    maxDataPoints: Number(panel.maxDataPoints) || 0,
  });
  const intervalMs = stepS * 1000;
  const rateIntervalMs = Math.max(intervalMs + scrapeIntervalS * 1000, 4 * scrapeIntervalS * 1000);
  return { stepS, intervalMs, rateIntervalMs };
}

/** Which data source a target uses: 'prometheus' or 'loki' (anything else is refused by name). */
export function datasourceType(ds, resolveVar) {
  if (ds == null) return 'prometheus';
  if (typeof ds === 'string') {
    const m = /^\$\{?(\w+)\}?$/.exec(ds);
    if (m && resolveVar) return datasourceType(resolveVar(m[1]), resolveVar);
    const s = ds.toLowerCase();
    if (s.includes('loki')) return 'loki';
    if (s === '-- grafana --' || s === 'grafana') return 'grafana';
    return 'prometheus';
  }
  if (typeof ds === 'object') {
    if (ds.type) {
      const t = String(ds.type);
      if (/^\$\{?\w+\}?$/.test(t)) return datasourceType(t, resolveVar);
      if (t === 'prometheus' || t === 'loki') return t;
      if (t === 'datasource' || t === 'grafana') return 'grafana';
      return t;
    }
    if (ds.uid) return datasourceType(String(ds.uid), resolveVar);
  }
  return 'prometheus';
}

function isLokiLogQuery(expr) {
  // A log query starts with a stream selector and has no range aggregation.
  const s = expr.trim();
  return s.startsWith('{') && !/\b(rate|count_over_time|bytes_rate|bytes_over_time|sum_over_time|avg_over_time|max_over_time|min_over_time|first_over_time|last_over_time|quantile_over_time|stddev_over_time|stdvar_over_time|absent_over_time|rate_counter)\s*\(/.test(s);
}

/**
 * Runs one target. Returns `{kind: 'series', series, instant}` for metrics or
 * `{kind: 'logs', streams}` for Loki log lines. Throws the API's message.
 */
export async function runTarget(panel, target, { range, widthPx, ctx, dsType, signal }) {
  const { stepS, intervalMs, rateIntervalMs } = panelInterval(panel, target, range, widthPx, ctx);
  const local = {
    ...ctx,
    builtins: {
      ...ctx.builtins,
      __interval: formatDuration(intervalMs),
      __interval_ms: String(intervalMs),
      __rate_interval: formatDuration(rateIntervalMs),
      __rate_interval_ms: String(rateIntervalMs),
    },
  };
  const expr = interpolate(target.expr ?? target.query ?? '', local);
  if (!expr || !expr.trim()) return { kind: 'series', series: [], instant: false, refId: target.refId, empty: true };
  const startS = Math.floor(range.from / 1000 / stepS) * stepS;
  const endS = Math.ceil(range.to / 1000 / stepS) * stepS;
  if (dsType === 'loki') {
    if (isLokiLogQuery(expr)) {
      const limit = Number(target.maxLines) || Number(panel.options?.maxLines) || 1000;
      const data = await lokiQueryRange(expr, range.from, range.to, { limit, direction: 'backward' }, signal);
      if (data.resultType === 'streams') return { kind: 'logs', streams: data.result || [], refId: target.refId };
      return { kind: 'series', series: seriesFromMatrix(data.result, target.legendFormat, target.refId), instant: false, refId: target.refId };
    }
    const data = await lokiQueryRange(expr, startS * 1000, endS * 1000, { step: stepS }, signal);
    if (data.resultType === 'streams') return { kind: 'logs', streams: data.result || [], refId: target.refId };
    return { kind: 'series', series: seriesFromMatrix(data.result, target.legendFormat, target.refId), instant: data.resultType === 'vector', refId: target.refId };
  }
  if (dsType !== 'prometheus') throw new Error(`data source type "${dsType}" is not supported (Prometheus and Loki are)`);
  const instant = target.instant === true && target.range !== true;
  if (instant) {
    const data = await promQuery(expr, Math.floor(range.to / 1000), signal);
    return { kind: 'series', series: vectorOrScalar(data, target), instant: true, refId: target.refId };
  }
  const data = await promQueryRange(expr, startS, endS, stepS, signal);
  return { kind: 'series', series: vectorOrScalar(data, target), instant: false, refId: target.refId, stepS };
}

function vectorOrScalar(data, target) {
  if (data.resultType === 'scalar' || data.resultType === 'string') {
    const [t, v] = data.result;
    return [{ name: legendName({}, target.legendFormat) === '{}' ? 'scalar' : legendName({}, target.legendFormat), labels: {}, refId: target.refId, points: [[Number(t), Number(v)]] }];
  }
  return seriesFromMatrix(data.result, target.legendFormat, target.refId);
}
