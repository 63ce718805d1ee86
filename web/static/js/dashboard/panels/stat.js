// The stat panel: one reduced value per series (reduceOptions.calcs), coloured
// by thresholds on the value or the background, with an area sparkline, value
// mappings, units and decimals, and data links on the value.

import { el, svg, contrastClass } from '../dom.js';
import { reducedValues, thresholdColor, mapValue } from '../fields.js';
import { formatParts } from '../../units.js';
import { resolveColor } from '../../chart.js';
import { resolveLink } from '../links.js';

export const needsData = true;

function sparkline(values, color) {
  const nums = values.map((v) => (v == null ? null : v));
  const finite = nums.filter((v) => v != null);
  if (finite.length < 2) return null;
  const min = Math.min(...finite);
  const max = Math.max(...finite);
  const span = max - min || 1;
  const n = nums.length;
  let d = '';
  let first = null;
  let lastX = 0;
  nums.forEach((v, i) => {
    if (v == null) return;
    const x = (i / (n - 1)) * 100;
    const y = 30 - ((v - min) / span) * 28 - 1;
    d += `${d ? 'L' : 'M'}${x.toFixed(2)},${y.toFixed(2)}`;
    if (first == null) first = x;
    lastX = x;
  });
  const area = `${d}L${lastX.toFixed(2)},30L${first.toFixed(2)},30Z`;
  return svg('svg', { class: 'stat-spark', viewBox: '0 0 100 30', preserveAspectRatio: 'none', 'aria-hidden': 'true' },
    svg('path', { d: area, fill: color, 'fill-opacity': '0.18', stroke: 'none' }),
    svg('path', { d, fill: 'none', stroke: color, 'stroke-width': '1.5', 'vector-effect': 'non-scaling-stroke' }));
}

/** Display text and colour of a reduced value, after mappings. */
export function display(item) {
  const { cfg, value } = item;
  const mapped = mapValue(cfg.mappings, value);
  let parts;
  if (mapped?.text != null) parts = { text: mapped.text, suffix: '' };
  else if (value == null && cfg.noValue != null) parts = { text: cfg.noValue, suffix: '' };
  else parts = formatParts(value, cfg.unit, cfg.decimals);
  let color = mapped?.color || thresholdColor(cfg.thresholds, value, cfg.min ?? 0, cfg.max ?? 100);
  if (cfg.color?.mode === 'fixed' && cfg.color.fixedColor) color = cfg.color.fixedColor;
  return { ...parts, color: resolveColor(color || 'green', '--ok') };
}

export function create(body, panel) {
  const wrap = el('div', 'stat-grid');
  body.appendChild(wrap);
  return {
    update({ series, ctx }) {
      const items = reducedValues(panel, series, ctx);
      if (items.length === 0) return 'nodata';
      const o = panel.options || {};
      const colorMode = o.colorMode || 'value';
      const graphMode = o.graphMode || 'area';
      const textMode = o.textMode || 'auto';
      wrap.classList.toggle('stat-horizontal', o.orientation === 'horizontal');
      const tiles = items.map((item) => {
        const d = display(item);
        const tile = el('div', 'stat-tile');
        const showName = textMode === 'name' || textMode === 'value_and_name' || (textMode === 'auto' && items.length > 1);
        const valueEl = el('div', 'stat-value');
        if (textMode !== 'name' && textMode !== 'none') valueEl.append(el('span', 'stat-number', d.text), d.suffix ? el('span', 'stat-suffix', d.suffix) : '');
        if (colorMode === 'background' || colorMode === 'background_solid') {
          tile.classList.add('stat-bg', contrastClass(d.color));
          tile.style.backgroundColor = d.color;
        } else if (colorMode === 'value') {
          valueEl.style.color = d.color;
        }
        const link = (item.cfg.links || []).map((l) => resolveLink(l, ctx, { series: item.series, value: item.value, time: item.time == null ? null : item.time * 1000 })).find(Boolean);
        const name = el('div', 'stat-name', item.cfg.name);
        if (showName) tile.appendChild(name);
        if (link) {
          const a = el('a', { class: 'stat-link', href: link.url, title: link.title });
          if (link.targetBlank) { a.target = '_blank'; a.rel = 'noopener noreferrer'; }
          a.appendChild(valueEl);
          tile.appendChild(a);
        } else {
          tile.appendChild(valueEl);
        }
        tile.setAttribute('aria-label', `${item.cfg.name}: ${d.text}${d.suffix}`);
        if (graphMode === 'area') {
          const sp = sparkline(item.values, colorMode === 'background' || colorMode === 'background_solid' ? 'currentColor' : d.color);
          if (sp) tile.appendChild(sp);
        }
        return tile;
      });
      wrap.replaceChildren(...tiles);
      return items.some((i) => i.value != null) ? 'data' : 'nodata';
    },
    destroy() { wrap.remove(); },
  };
}
