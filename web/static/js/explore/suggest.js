// The suggestions for a completion context (context.js): metric, label and
// value names from the Prometheus and Loki APIs, PromQL's functions and
// keywords, LogQL's stages, and the fields seen in the last result. Answers
// from the APIs are kept for a minute, so typing costs one request per
// list, not one per key.

import { promqlContext, logqlContext, metricsIn } from './context.js';

// PromQL's functions, as the engine's table names them (src/promql/functions/table.rs).
const PROMQL_FUNCTIONS = `abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil changes
clamp clamp_max clamp_min cos cosh count_over_time day_of_month day_of_week day_of_year days_in_month deg delta
deriv exp first_over_time floor histogram_avg histogram_count histogram_fraction histogram_quantile
histogram_stddev histogram_stdvar histogram_sum hour idelta increase irate label_join label_replace
last_over_time ln log10 log2 mad_over_time max_over_time min_over_time minute month pi predict_linear
present_over_time quantile_over_time rad rate resets round scalar sgn sin sinh sort sort_by_label
sort_by_label_desc sort_desc sqrt stddev_over_time stdvar_over_time sum_over_time tan tanh time timestamp
vector year`.split(/\s+/);
const PROMQL_AGGREGATIONS = ['sum', 'avg', 'min', 'max', 'count', 'group', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values'];
const PROMQL_KEYWORDS = ['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless', 'atan2'];

const LOGQL_RANGE_FUNCTIONS = ['count_over_time', 'rate', 'bytes_over_time', 'bytes_rate', 'sum_over_time', 'avg_over_time',
  'min_over_time', 'max_over_time', 'stddev_over_time', 'stdvar_over_time', 'quantile_over_time', 'first_over_time',
  'last_over_time', 'absent_over_time', 'rate_counter'];
const LOGQL_AGGREGATIONS = ['sum', 'avg', 'min', 'max', 'count', 'stddev', 'stdvar', 'topk', 'bottomk', 'sort', 'sort_desc'];
const LOGQL_KEYWORDS = ['by', 'without', 'offset', 'and', 'or', 'unless', 'bool', 'on', 'ignoring', 'vector', 'label_replace'];
const LOGQL_STAGES = [
  ['json', 'parse the line as JSON into fields'],
  ['logfmt', 'parse key=value pairs into fields'],
  ['pattern', 'extract fields with a pattern: | pattern "<ip> - <_>"'],
  ['regexp', 'extract fields with named groups'],
  ['unpack', 'unpack a packed line'],
  ['line_format', 'rewrite the line with a template'],
  ['label_format', 'rename or template labels'],
  ['drop', 'drop labels'],
  ['keep', 'keep only these labels'],
  ['decolorize', 'strip ANSI colours'],
  ['unwrap', 'use a field as the sample value'],
];
const DURATIONS = ['1m', '5m', '10m', '15m', '30m', '1h', '6h', '1d'];

const TTL_MS = 60_000;
const MAX_SHOWN = 100;
const cache = new Map();

async function getJson(url, signal) {
  const r = await fetch(url, { credentials: 'same-origin', signal });
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  const body = await r.json();
  return Array.isArray(body?.data) ? body.data : [];
}

/** A list from the APIs, shared and kept for a minute; a failure gives none (completion is a help, not the page). */
function cached(url) {
  const hit = cache.get(url);
  if (hit && Date.now() - hit.at < TTL_MS) return hit.p;
  const p = getJson(url).catch(() => {
    cache.delete(url);
    return [];
  });
  cache.set(url, { at: Date.now(), p });
  if (cache.size > 200) cache.delete(cache.keys().next().value);
  return p;
}

function selector(metric, matchers) {
  const parts = matchers.map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  if (!metric && !parts.length) return '';
  return `${metric}{${parts.join(',')}}`;
}

function withMatch(path, match, extra = {}) {
  const p = new URLSearchParams(extra);
  if (match) p.append('match[]', match);
  const qs = p.toString();
  return qs ? `${path}?${qs}` : path;
}

// Label lookups over the range, on whole minutes: the clock moves on every
// keystroke, and the cache should still answer the next one.
function lokiRange(range) {
  const start = Math.floor(range.from / 60_000) * 60_000;
  const end = Math.ceil(range.to / 60_000) * 60_000;
  return { start: `${start}000000`, end: `${end}000000` };
}

const item = (label, kind, extra = {}) => ({ label, insert: label, kind, ...extra });

/**
 * Ranks `items` against what was typed: names starting with it first,
 * then names containing it (from two letters on); case does not matter.
 * At most MAX_SHOWN.
 */
export function rank(items, prefix) {
  const p = prefix.toLowerCase();
  const seen = new Set();
  const starts = [];
  const contains = [];
  for (const it of items) {
    const key = `${it.kind}:${it.label}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const l = it.label.toLowerCase();
    if (!p || l.startsWith(p)) starts.push(it);
    // One letter inside a name matches nearly everything: only from two on.
    else if (p.length > 1 && l.includes(p)) contains.push(it);
  }
  const out = starts.concat(contains);
  // The only suggestion being exactly what is there already is no suggestion.
  if (out.length === 1 && out[0].label === prefix) return [];
  return out.slice(0, MAX_SHOWN);
}

function valueItems(values, ctx) {
  return values.map((v) => {
    const escaped = JSON.stringify(String(v)).slice(1, -1);
    const insert = ctx.quoted ? `${escaped}${ctx.closed ? '' : '"'}` : `"${escaped}"`;
    return { label: String(v), insert, kind: 'value', skipClosing: ctx.closed };
  });
}

async function promqlItems(ctx, text, known) {
  switch (ctx.kind) {
    case 'expression': {
      const names = await cached('/api/v1/label/__name__/values');
      return [
        ...names.map((n) => item(n, 'metric')),
        ...PROMQL_AGGREGATIONS.map((n) => item(n, 'aggregation', { insert: `${n}()`, caretBack: 1 })),
        ...PROMQL_FUNCTIONS.map((n) => item(n, 'function', { insert: `${n}()`, caretBack: 1 })),
        ...PROMQL_KEYWORDS.map((n) => item(n, 'keyword')),
      ];
    }
    case 'labelName': {
      const names = await cached(withMatch('/api/v1/labels', selector(ctx.metric, ctx.matchers)));
      return names.filter((n) => n !== '__name__' && !ctx.used.includes(n))
        .map((n) => item(n, 'label', { insert: `${n}=`, reopen: true }));
    }
    case 'labelValue': {
      const values = await cached(withMatch(`/api/v1/label/${encodeURIComponent(ctx.label)}/values`, selector(ctx.metric, ctx.matchers)));
      return valueItems(values, ctx);
    }
    case 'groupingLabel': {
      const names = new Set(known.labels);
      const metrics = metricsIn(text).filter((m) => !PROMQL_FUNCTIONS.includes(m) && !PROMQL_AGGREGATIONS.includes(m) && !PROMQL_KEYWORDS.includes(m));
      const lists = await Promise.all((metrics.length ? metrics.slice(0, 5) : ['']).map((m) => cached(withMatch('/api/v1/labels', m ? `${m}` : ''))));
      for (const l of lists) for (const n of l) names.add(n);
      names.delete('__name__');
      return [...names].sort().map((n) => item(n, 'label'));
    }
    case 'duration':
      return DURATIONS.map((d) => item(d, 'duration'));
    default:
      return [];
  }
}

/**
 * The names a pipeline filters on: those seen in the last result, then
 * the ones the logs store indexes for the range (Loki's label names:
 * the stream labels and the fields kept from structured lines).
 */
async function fieldList(r, known) {
  const indexed = await cached(`/loki/api/v1/labels?${new URLSearchParams(r)}`);
  const seen = [...known.fields].sort();
  return [...new Set([...seen, ...indexed])];
}

async function logqlItems(ctx, range, known) {
  const r = lokiRange(range);
  switch (ctx.kind) {
    case 'expression':
      return [
        ...LOGQL_RANGE_FUNCTIONS.map((n) => item(n, 'function', { insert: `${n}()`, caretBack: 1 })),
        ...LOGQL_AGGREGATIONS.map((n) => item(n, 'aggregation', { insert: `${n}()`, caretBack: 1 })),
        ...LOGQL_KEYWORDS.map((n) => item(n, 'keyword')),
      ];
    case 'labelName': {
      const names = await cached(`/loki/api/v1/labels?${new URLSearchParams(r)}`);
      return names.filter((n) => !ctx.used.includes(n)).map((n) => item(n, 'label', { insert: `${n}=`, reopen: true }));
    }
    case 'labelValue': {
      const values = await cached(`/loki/api/v1/label/${encodeURIComponent(ctx.label)}/values?${new URLSearchParams(r)}`);
      return valueItems(values, ctx);
    }
    case 'stage':
      return [
        ...LOGQL_STAGES.map(([n, detail]) => item(n, 'stage', { detail })),
        ...(await fieldList(r, known)).map((n) => item(n, 'field')),
      ];
    case 'field':
      return (await fieldList(r, known)).map((n) => item(n, 'field'));
    case 'groupingLabel': {
      const names = new Set([...known.fields, ...known.labels]);
      for (const n of await cached(`/loki/api/v1/labels?${new URLSearchParams(r)}`)) names.add(n);
      return [...names].sort().map((n) => item(n, 'label'));
    }
    case 'duration':
      return DURATIONS.map((d) => item(d, 'duration'));
    default:
      return [];
  }
}

/**
 * Suggestions at `caret`: `{items, from, to}` or null. `explicit` (Ctrl+Space)
 * lists everything even before a letter is typed; as one types, an
 * expression position waits for its first letter. `known` holds the label
 * and field names of the last result: `{labels: Set, fields: Set}`.
 */
export async function suggest(lang, text, caret, { explicit = false, range, known }) {
  const ctx = lang === 'logql' ? logqlContext(text, caret) : promqlContext(text, caret);
  if (!ctx) return null;
  const typing = ctx.prefix.length > 0;
  const opener = ctx.kind === 'labelName' || ctx.kind === 'labelValue' || ctx.kind === 'stage' || ctx.kind === 'groupingLabel';
  if (!explicit && !typing && !opener) return null;
  // After `|` a space is what people type next; wait for it or a letter.
  if (!explicit && ctx.kind === 'stage' && !typing && !/\|\s$/.test(text.slice(0, caret))) return null;
  const items = lang === 'logql' ? await logqlItems(ctx, range, known) : await promqlItems(ctx, text, known);
  const ranked = rank(items, ctx.prefix);
  return ranked.length ? { items: ranked, from: ctx.from, to: ctx.to, kind: ctx.kind } : null;
}
