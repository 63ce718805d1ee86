// A row: a full-width header that collapses and expands the panels under it.
// A collapsed row holds its panels (Grafana's model); they are neither drawn
// nor queried until it opens.

import { el } from '../dom.js';
import { interpolate } from '../queries.js';

/** The row's header; `onToggle()` is called on click (the dashboard moves the panels). */
export function createRow(panel, ctx, onToggle) {
  const count = el('span', 'row-count');
  const title = el('span', 'row-title');
  const btn = el('button', { type: 'button', class: 'row-toggle' }, el('span', { class: 'row-chevron', 'aria-hidden': 'true' }), title, count);
  const head = el('h2', 'row-heading', btn);
  const section = el('section', 'dash-row', head);
  section.dataset.panelId = String(panel.id);
  btn.addEventListener('click', () => onToggle(panel));
  const refresh = (c) => {
    btn.setAttribute('aria-expanded', String(!panel.collapsed));
    title.textContent = interpolate(panel.title || 'Row', c, 'text') || 'Row';
    const n = panel.panels?.length || 0;
    count.textContent = panel.collapsed && n ? ` (${n} panel${n === 1 ? '' : 's'})` : '';
    section.classList.toggle('collapsed', panel.collapsed);
  };
  refresh(ctx);
  return { el: section, refresh, focus: () => btn.focus() };
}
