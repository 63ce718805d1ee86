// The gauge panel: an arc per reduced value from min to max, the value's
// threshold colour, and the thresholds as a thin outer band.

import { el, svg } from '../dom.js';
import { reducedValues } from '../fields.js';
import { cssVar, resolveColor } from '../../chart.js';
import { display } from './stat.js';

export const needsData = true;

const START = -120;
const END = 120;

function polar(cx, cy, r, deg) {
  const a = ((deg - 90) * Math.PI) / 180;
  return [cx + r * Math.cos(a), cy + r * Math.sin(a)];
}

function arc(cx, cy, r, a0, a1) {
  const [x0, y0] = polar(cx, cy, r, a0);
  const [x1, y1] = polar(cx, cy, r, a1);
  const large = a1 - a0 > 180 ? 1 : 0;
  return `M${x0.toFixed(2)},${y0.toFixed(2)}A${r},${r} 0 ${large} 1 ${x1.toFixed(2)},${y1.toFixed(2)}`;
}

/** min and max of a gauge: the field's, else 0 and 100 (1 for percentunit) or the data's maximum. */
export function bounds(cfg, value, allValues) {
  const min = cfg.min ?? 0;
  let max = cfg.max;
  if (max == null) {
    if (cfg.unit === 'percent') max = 100;
    else if (cfg.unit === 'percentunit') max = 1;
    else {
      const steps = (cfg.thresholds?.steps || []).map((s) => s.value).filter((v) => v != null);
      max = Math.max(...allValues.filter((v) => v != null), ...(cfg.thresholds?.mode === 'percentage' ? [] : steps), min + 1);
      if (max > 0) {
        const mag = 10 ** Math.floor(Math.log10(max));
        max = Math.ceil(max / mag) * mag;
      }
    }
  }
  return [min, max > min ? max : min + 1];
}

export function create(body, panel) {
  const wrap = el('div', 'gauge-grid');
  body.appendChild(wrap);
  return {
    update({ series, ctx }) {
      const items = reducedValues(panel, series, ctx);
      if (items.length === 0) return 'nodata';
      const all = items.map((i) => i.value);
      const showMarkers = panel.options?.showThresholdMarkers !== false;
      const track = cssVar('--border') || '#ddd';
      wrap.replaceChildren(...items.map((item) => {
        const d = display(item);
        const [min, max] = bounds(item.cfg, item.value, all);
        const frac = item.value == null ? 0 : Math.max(0, Math.min(1, (item.value - min) / (max - min)));
        const cx = 100;
        const cy = 100;
        const parts = [svg('path', { d: arc(cx, cy, 80, START, END), fill: 'none', stroke: track, 'stroke-width': 16 })];
        if (frac > 0) parts.push(svg('path', { d: arc(cx, cy, 80, START, START + (END - START) * frac), fill: 'none', stroke: d.color, 'stroke-width': 16 }));
        if (showMarkers) {
          const steps = item.cfg.thresholds?.steps || [];
          steps.forEach((s, i) => {
            const toFrac = (v) => {
              if (v == null) return 0;
              const x = item.cfg.thresholds.mode === 'percentage' ? v / 100 : (v - min) / (max - min);
              return Math.max(0, Math.min(1, x));
            };
            const f0 = toFrac(s.value);
            const f1 = i + 1 < steps.length ? toFrac(steps[i + 1].value) : 1;
            if (f1 > f0) parts.push(svg('path', { d: arc(cx, cy, 93, START + (END - START) * f0, START + (END - START) * f1), fill: 'none', stroke: resolveColor(s.color), 'stroke-width': 5 }));
          });
        }
        const text = svg('text', { x: cx, y: cy + 8, 'text-anchor': 'middle', class: 'gauge-value', fill: d.color }, d.text + d.suffix);
        parts.push(text);
        const g = svg('svg', { viewBox: '0 0 200 165', class: 'gauge-svg', role: 'img', 'aria-label': `${item.cfg.name}: ${d.text}${d.suffix} of ${min} to ${max}` }, ...parts);
        const tile = el('div', 'gauge-tile', g);
        if (items.length > 1 || panel.options?.showName) tile.appendChild(el('div', 'gauge-name', item.cfg.name));
        return tile;
      }));
      return items.some((i) => i.value != null) ? 'data' : 'nodata';
    },
    destroy() { wrap.remove(); },
  };
}
