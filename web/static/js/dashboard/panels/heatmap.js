// The heatmap panel over Prometheus histogram buckets: series with an `le`
// label (from `format: "heatmap"` targets, or any bucket series) are summed
// per bucket across their other labels, sorted by `le` and de-accumulated
// (Prometheus buckets are cumulative), then drawn as cells whose opacity
// follows the count.

import { createChart, alignSeries, serviceOfQueries } from '../../chart.js';
import { interpolate } from '../queries.js';
import { formatValue } from '../../units.js';
import { setRange } from '../../timerange.js';

export const needsData = true;

function leValue(le) {
  if (le === '+Inf' || le === 'Inf' || le === 'inf') return Infinity;
  return Number(le);
}

/** `{xs, buckets: [label], counts: [bucket][time]}` from bucket series, or null without `le`. */
export function bucketsFrom(series, unit, decimals, accumulated = true) {
  const withLe = series.filter((s) => s.labels && s.labels.le != null && !Number.isNaN(leValue(s.labels.le)));
  if (!withLe.length) return null;
  const { xs, ys } = alignSeries(withLe);
  const byLe = new Map();
  withLe.forEach((s, i) => {
    const le = leValue(s.labels.le);
    let acc = byLe.get(le);
    if (!acc) {
      acc = new Array(xs.length).fill(null);
      byLe.set(le, acc);
    }
    ys[i].forEach((v, j) => {
      if (v != null) acc[j] = (acc[j] ?? 0) + v;
    });
  });
  const les = [...byLe.keys()].sort((a, b) => a - b);
  const counts = les.map((le, b) => {
    const cur = byLe.get(le);
    if (!accumulated || b === 0) return cur.slice();
    const prev = byLe.get(les[b - 1]);
    return cur.map((v, j) => (v == null ? null : Math.max(0, v - (prev[j] ?? 0))));
  });
  const buckets = les.map((le) => (le === Infinity ? '+Inf' : formatValue(le, unit, decimals)));
  return { xs, buckets, counts };
}

export function create(body, panel, env) {
  let chart = null;
  return {
    update({ series, range, ctx }) {
      const d = panel.fieldConfig.defaults;
      const yUnit = panel.options?.yAxis?.unit || d.unit;
      const hm = bucketsFrom(series, yUnit, panel.options?.yAxis?.decimals ?? d.decimals);
      if (!hm || hm.xs.length === 0) {
        if (chart) chart.destroy();
        chart = null;
        return 'nodata';
      }
      const labels = {};
      for (const k of ['service', 'job', 'app']) {
        const vals = new Set(series.map((s) => s.labels[k]).filter((v) => v != null));
        if (vals.size === 1) labels[k] = [...vals][0];
      }
      const opts = {
        xs: hm.xs,
        series: [],
        range,
        heatmap: { buckets: hm.buckets, counts: hm.counts, labels, color: panel.options?.color?.fill },
        legend: 'hidden',
        annotations: [],
        syncKey: env.syncKey,
        timezone: env.timezone,
        service: serviceOfQueries(panel.targets.filter((t) => !t.hide).map((t) => interpolate(t.expr || '', ctx))),
        onZoom: (f, t) => setRange(f, t),
      };
      if (chart) chart.update(opts);
      else chart = createChart(body, opts);
      return 'data';
    },
    destroy() {
      if (chart) chart.destroy();
      chart = null;
    },
  };
}
