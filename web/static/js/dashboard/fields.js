// Grafana's field configuration for one series: defaults, then overrides
// (byName, byRegexp, byFrameRefID, byType) for color, unit, decimals,
// displayName, min, max, thresholds and custom options; reducers for stat-like
// panels; value mappings; threshold colours.

import { legendName } from '../chart.js';
import { interpolate } from './queries.js';

function setPath(obj, path, value) {
  const keys = path.split('.');
  let o = obj;
  for (let i = 0; i < keys.length - 1; i += 1) {
    o[keys[i]] = { ...(o[keys[i]] || {}) };
    o = o[keys[i]];
  }
  o[keys[keys.length - 1]] = value;
}

function matches(matcher, series, name) {
  if (!matcher) return false;
  const opt = matcher.options;
  switch (matcher.id) {
    case 'byName': return opt === name || opt === series.name || opt === series.labels?.__name__;
    case 'byRegexp': {
      try {
        const m = /^\/(.*)\/([gimsuy]*)$/.exec(String(opt));
        const re = m ? new RegExp(m[1], m[2].replace('g', '')) : new RegExp(`^(?:${opt})$`);
        return re.test(name) || re.test(series.name);
      } catch {
        return false;
      }
    }
    case 'byFrameRefID': return opt === series.refId;
    case 'byType': return opt === 'number';
    case 'byValue': return false;
    default: return false;
  }
}

/**
 * The effective field config of a series: `{unit, decimals, min, max,
 * thresholds, color, displayName, custom, links, mappings, noValue}`, and
 * `name`, the series' display name.
 */
export function fieldConfigFor(panel, series, ctx) {
  const defaults = panel.fieldConfig?.defaults || {};
  const cfg = { ...defaults, custom: { ...(defaults.custom || {}) } };
  const baseName = series.name;
  for (const o of panel.fieldConfig?.overrides || []) {
    if (!matches(o.matcher, series, baseName)) continue;
    for (const prop of o.properties || []) {
      if (!prop || !prop.id) continue;
      setPath(cfg, prop.id, prop.value);
    }
  }
  let name = baseName;
  if (cfg.displayName) {
    const local = {
      ...ctx,
      builtins: { ...ctx.builtins, ...labelBuiltins(series.labels), '__series.name': baseName, '__field.name': baseName },
    };
    name = interpolate(legendTemplate(cfg.displayName, series.labels), local);
  }
  return { ...cfg, name };
}

function legendTemplate(text, labels) {
  return String(text).includes('{{') ? legendName(labels || {}, text) : text;
}

/** `${__field.labels.X}` for a series' labels. */
export function labelBuiltins(labels = {}) {
  const out = {};
  for (const [k, v] of Object.entries(labels)) out[`__field.labels.${k}`] = v;
  out['__field.labels'] = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(', ');
  return out;
}

/** The colour for a value: the last threshold step at or below it (percentage mode against min/max). */
export function thresholdColor(thresholds, value, min = 0, max = 100) {
  const steps = thresholds?.steps || [];
  if (!steps.length) return null;
  if (value == null || Number.isNaN(value)) return steps[0].color;
  let v = value;
  if (thresholds.mode === 'percentage') v = max > min ? ((value - min) / (max - min)) * 100 : 0;
  let color = steps[0].color;
  for (const s of steps) if (s.value == null || s.value === -Infinity || v >= s.value) color = s.color;
  return color;
}

/** Grafana's reducers over a series' values. */
export function reduce(values, calc) {
  const nums = values.filter((v) => v != null && Number.isFinite(v));
  switch (calc) {
    case 'last': return values.length ? values[values.length - 1] : null;
    case 'first': return values.length ? values[0] : null;
    case 'firstNotNull': return nums.length ? nums[0] : null;
    case 'mean': return nums.length ? nums.reduce((a, b) => a + b, 0) / nums.length : null;
    case 'max': return nums.length ? Math.max(...nums) : null;
    case 'min': return nums.length ? Math.min(...nums) : null;
    case 'sum': return nums.length ? nums.reduce((a, b) => a + b, 0) : null;
    case 'count': return values.length;
    case 'range': return nums.length ? Math.max(...nums) - Math.min(...nums) : null;
    case 'delta': {
      let d = 0;
      for (let i = 1; i < nums.length; i += 1) d += nums[i] >= nums[i - 1] ? nums[i] - nums[i - 1] : nums[i];
      return nums.length ? d : null;
    }
    case 'diff': return nums.length ? nums[nums.length - 1] - nums[0] : null;
    case 'lastNotNull':
    default: return nums.length ? nums[nums.length - 1] : null;
  }
}

/** Applies value mappings (value, range, regex, special): `{text, color}` or null. */
export function mapValue(mappings, value) {
  for (const m of mappings || []) {
    const o = m.options || {};
    if (m.type === 'value') {
      const hit = o[String(value)];
      if (hit) return hit;
    } else if (m.type === 'range') {
      if (value != null && (o.from == null || value >= o.from) && (o.to == null || value <= o.to)) return o.result || null;
    } else if (m.type === 'special') {
      const mt = o.match;
      if ((mt === 'null' || mt === 'null+nan') && value == null) return o.result || null;
      if ((mt === 'nan' || mt === 'null+nan') && Number.isNaN(value)) return o.result || null;
      if (mt === 'true' && value === 1) return o.result || null;
      if (mt === 'false' && value === 0) return o.result || null;
    } else if (m.type === 'regex') {
      try {
        if (new RegExp(o.pattern).test(String(value))) return o.result || null;
      } catch {
        // A bad pattern maps nothing.
      }
    }
  }
  return null;
}

/** The reduced values of a panel's series, as stat, gauge and bar gauge show them. */
export function reducedValues(panel, seriesList, ctx) {
  const calc = panel.options?.reduceOptions?.calcs?.[0] || 'lastNotNull';
  const out = [];
  for (const s of seriesList) {
    const cfg = fieldConfigFor(panel, s, ctx);
    const values = s.points.map((p) => (Number.isFinite(p[1]) ? p[1] : null));
    const value = reduce(values, calc);
    const lastT = s.points.length ? s.points[s.points.length - 1][0] : null;
    out.push({ series: s, cfg, value, calc, time: lastT, values });
  }
  return out;
}
