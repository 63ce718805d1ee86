// A panel type Belfry does not draw: a placeholder naming it, so the rest of
// the dashboard works and the reader knows what is missing.

import { el } from '../dom.js';

export const needsData = false;

export function create(body, panel) {
  body.appendChild(el('div', 'panel-placeholder',
    el('strong', null, `Panel type “${panel.type}” is not supported.`),
    el('span', null, ' Belfry draws timeseries, stat, gauge, bargauge, table, text, row, heatmap and logs panels.')));
  return {
    update() { return 'placeholder'; },
    destroy() {},
  };
}
