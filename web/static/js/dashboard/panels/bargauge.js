// The bar gauge panel: a bar per reduced value, basic (the value's threshold
// colour), gradient (through the thresholds' colours) or lcd (cells lit in
// their threshold's colour), horizontal or vertical.

import { el } from '../dom.js';
import { reducedValues, thresholdColor } from '../fields.js';
import { resolveColor, withAlpha } from '../../chart.js';
import { display } from './stat.js';
import { bounds } from './gauge.js';
import { resolveLink } from '../links.js';

export const needsData = true;

export function create(body, panel) {
  const wrap = el('div', 'bargauge');
  body.appendChild(wrap);
  return {
    update({ series, ctx }) {
      const items = reducedValues(panel, series, ctx);
      if (items.length === 0) return 'nodata';
      const o = panel.options || {};
      const mode = o.displayMode || 'gradient';
      const vertical = o.orientation === 'vertical';
      wrap.classList.toggle('bargauge-vertical', vertical);
      const all = items.map((i) => i.value);
      wrap.replaceChildren(...items.map((item) => {
        const d = display(item);
        const [min, max] = bounds(item.cfg, item.value, all);
        const frac = item.value == null ? 0 : Math.max(0, Math.min(1, (item.value - min) / (max - min)));
        const row = el('div', 'bargauge-row');
        // The meter is the bar alone: a meter's children are presentational,
        // so the name's data link beside it stays a link for the keyboard.
        const track = el('div', 'bargauge-track');
        track.setAttribute('role', 'meter');
        track.setAttribute('aria-valuemin', String(min));
        track.setAttribute('aria-valuemax', String(max));
        track.setAttribute('aria-valuenow', String(item.value ?? min));
        track.setAttribute('aria-label', item.cfg.name);
        track.setAttribute('aria-valuetext', `${d.text}${d.suffix}`);
        if (mode === 'lcd') {
          const cells = 20;
          for (let i = 0; i < cells; i += 1) {
            const cellVal = min + ((i + 0.5) / cells) * (max - min);
            const c = resolveColor(thresholdColor(item.cfg.thresholds, cellVal, min, max) || 'green', '--ok');
            const cell = el('span', 'bargauge-cell');
            cell.style.backgroundColor = (i + 0.5) / cells <= frac ? c : withAlpha(c, 0.15);
            track.appendChild(cell);
          }
        } else {
          const bar = el('div', 'bargauge-bar');
          bar.style.setProperty('--fill', `${(frac * 100).toFixed(2)}%`);
          if (mode === 'gradient') {
            const steps = (item.cfg.thresholds?.steps || []).filter((s, i) => i === 0 || s.value == null || s.value <= (item.value ?? min));
            const colors = steps.map((s) => resolveColor(s.color));
            bar.style.backgroundImage = `linear-gradient(${vertical ? 'to top' : 'to right'}, ${colors.length > 1 ? colors.join(', ') : `${withAlpha(d.color, 0.5)}, ${d.color}`})`;
          } else {
            bar.style.backgroundColor = d.color;
          }
          track.appendChild(bar);
        }
        const value = el('div', 'bargauge-value', d.text + d.suffix);
        value.style.color = d.color;
        const link = (item.cfg.links || []).map((l) => resolveLink(l, ctx, { series: item.series, value: item.value })).find(Boolean);
        const name = link ? el('a', { class: 'bargauge-name', href: link.url }, item.cfg.name) : el('div', 'bargauge-name', item.cfg.name);
        row.append(name, track, value);
        return row;
      }));
      return items.some((i) => i.value != null) ? 'data' : 'nodata';
    },
    destroy() { wrap.remove(); },
  };
}
