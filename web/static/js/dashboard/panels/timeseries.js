// The timeseries panel: every target's series in one chart, with field
// config and overrides (colour, unit, display name, draw style, stacking,
// hidden series), thresholds as lines or areas, and annotation markers.

import { createChart, serviceOfQueries } from '../../chart.js';
import { interpolate } from '../queries.js';
import { resolveLink } from '../links.js';
import { fieldConfigFor } from '../fields.js';
import { setRange } from '../../timerange.js';

export const needsData = true;

function colorOf(cfg) {
  const c = cfg.color;
  if (!c) return null;
  if (c.mode === 'fixed' || c.mode === 'shades') return c.fixedColor || null;
  return null;
}

export function create(body, panel, env) {
  let chart = null;
  return {
    update({ series, range, ctx, annotations }) {
      const defaults = panel.fieldConfig.defaults;
      const custom = defaults.custom || {};
      const list = [];
      const linkSets = [];
      for (const s of series) {
        const cfg = fieldConfigFor(panel, s, ctx);
        if (cfg.custom?.hideFrom?.viz) continue;
        list.push({
          name: cfg.name,
          labels: s.labels,
          points: s.points,
          color: colorOf(cfg),
          unit: cfg.unit,
          decimals: cfg.decimals,
          drawStyle: cfg.custom?.drawStyle,
          fillOpacity: cfg.custom?.fillOpacity,
          lineWidth: cfg.custom?.lineWidth,
          lineInterpolation: cfg.custom?.lineInterpolation,
          pointSize: cfg.custom?.pointSize,
        });
        linkSets.push({ links: cfg.links || [], series: { ...s, name: cfg.name } });
      }
      if (list.every((s) => s.points.length === 0)) {
        if (chart) chart.destroy();
        chart = null;
        return 'nodata';
      }
      const legendOpts = panel.options?.legend || {};
      const thresholdsStyle = custom.thresholdsStyle?.mode || 'off';
      const scale = custom.scaleDistribution || {};
      const opts = {
        series: list,
        range,
        unit: defaults.unit,
        decimals: defaults.decimals,
        min: defaults.min ?? custom.axisSoftMin ?? undefined,
        max: defaults.max ?? custom.axisSoftMax ?? undefined,
        log: scale.type === 'log' ? (scale.log || 2) : undefined,
        thresholds: defaults.thresholds,
        thresholdsStyle,
        stacking: custom.stacking?.mode === 'normal' ? 'normal' : 'none',
        drawStyle: custom.drawStyle,
        fillOpacity: custom.fillOpacity,
        lineWidth: custom.lineWidth,
        lineInterpolation: custom.lineInterpolation,
        spanNulls: custom.spanNulls === true,
        legend: legendOpts.showLegend === false || legendOpts.displayMode === 'hidden' ? 'hidden' : 'list',
        tooltip: panel.options?.tooltip?.mode || 'multi',
        annotations: annotations || [],
        syncKey: env.syncKey,
        timezone: env.timezone,
        service: serviceOfQueries(panel.targets.filter((t) => !t.hide).map((t) => interpolate(t.expr || '', ctx))),
        onZoom: (f, t) => setRange(f, t),
        links: linkSets.some((l) => l.links.length) ? (i, idx, timeMs, value) => linkSets[i].links
          .map((l) => resolveLink(l, ctx, { series: linkSets[i].series, value, time: timeMs })).filter(Boolean) : null,
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
