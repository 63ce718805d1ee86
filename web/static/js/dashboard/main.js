// The dashboard page (/d/{uid}): reads the model from #dashboard-model, lays
// the panels out on the 24-column grid, loads the template variables, runs
// every panel's targets concurrently (one request per target), draws each
// panel or its error or "no data" reason, and redraws on a new range, a
// variable change, a refresh tick or a theme change.
//
// Panels run when they come within 300 px of the viewport.
//
// For browser tests: each panel gets data-state="data|nodata|error|placeholder"
// when it is done, and <body> data-panels-done / data-panels-total count them
// (a panel not yet scrolled near is not done);
// data-render-ms (the round) and data-done-at-ms (since navigation) time it.

import { normalize, layout, expandRow, collapseRow } from './model.js';
import { Variables } from './variables.js';
import { runTarget, datasourceType, interpolate, referencedVariables } from './queries.js';
import { getRange, setDefaultRange, getRefresh, setRefresh, isRelative } from '../timerange.js';
import { ensureStyles, fetchAnnotations } from '../chart.js';
import { activeTargets } from './api.js';
import { el, reachableWhenScrolling } from './dom.js';
import { resolveLink, anchor } from './links.js';
import { createRow } from './panels/row.js';
import * as timeseries from './panels/timeseries.js';
import * as stat from './panels/stat.js';
import * as gauge from './panels/gauge.js';
import * as bargauge from './panels/bargauge.js';
import * as table from './panels/table.js';
import * as text from './panels/text.js';
import * as heatmap from './panels/heatmap.js';
import * as logs from './panels/logs.js';
import * as unknown from './panels/unknown.js';
import '../timepicker.js';
// Named here too, though the modules above import them, so the browser asks
// for the whole graph in one wave instead of discovering it three deep.
import './fields.js';
import '../units.js';
import '../../vendor/uplot/uPlot.esm.js';

const TYPES = { timeseries, stat, gauge, bargauge, table, text, heatmap, logs };

/** Where a panel's targets point when none names the job: the panel's queries, for the hint. */
function jobsIn(panel) {
  const out = new Set();
  for (const t of panel.targets || []) {
    for (const m of String(t.expr || '').matchAll(/\b(?:job|service)\s*=~?\s*"([^"]+)"/g)) out.add(m[1]);
  }
  return out;
}

class Dashboard {
  constructor(main) {
    this.main = main;
    this.grid = main.querySelector('#dashboard-grid');
    this.varsEl = main.querySelector('#dashboard-variables');
    this.views = new Map(); // panel id → view
    this.round = 0;
    this.done = 0;
    this.controller = null;
    // Panels out of view run when they come near it, as Grafana's do: a
    // dashboard's first screen does not wait for the forty panels below
    // it, nor does a phone draw charts nobody scrolls to.
    this.elViews = new WeakMap();
    this.nearView = new IntersectionObserver((entries) => {
      for (const entry of entries) {
        const view = this.elViews.get(entry.target);
        if (!view) continue;
        view.near = entry.isIntersecting;
        if (view.near && view.waitingRound === this.round) this.runWhenNear(view);
      }
    }, { rootMargin: '300px 0px' });
  }

  /** Runs `view` in this round now if it is near the viewport, else once it comes near. */
  runWhenNear(view) {
    if (!view.near) {
      view.waitingRound = this.round;
      return;
    }
    view.waitingRound = null;
    this.run(view, this.round, this.controller?.signal);
  }

  start() {
    ensureStyles();
    const src = document.getElementById('dashboard-model');
    try {
      this.model = normalize(src ? src.textContent : '');
    } catch (e) {
      this.fail(`This dashboard cannot be shown: ${e.message}`);
      return;
    }
    if (this.model.time) setDefaultRange(this.model.time.from, this.model.time.to);
    const url = new URL(window.location.href);
    if (!url.searchParams.has('refresh') && this.model.refresh) setRefresh(this.model.refresh);
    this.syncKey = this.model.graphTooltip > 0 ? `dash-${this.model.uid || 'x'}` : null;
    this.vars = new Variables(this.model.variables, {
      getRange: () => this.range || getRange(),
      onChange: (names) => this.runAll(names),
      // The panels are out of date from the moment a variable changes.
      onChangeStart: () => {
        this.controller?.abort();
        this.round += 1;
        document.body.dataset.panelsDone = '0';
      },
    });
    document.addEventListener('belfry:timerange', (e) => {
      e.preventDefault();
      this.onRange();
    });
    document.addEventListener('belfry:refresh', (e) => {
      e.preventDefault();
      if (isRelative(getRange().raw)) this.runAll();
    });
    // Charts redraw themselves in the new colours; panels that colour DOM
    // elements from the theme (stat, gauge, bar gauge, table) draw again.
    document.addEventListener('belfry:themechange', () => {
      for (const v of this.dataViews()) {
        if (v.lastData && (v.mod === stat || v.mod === gauge || v.mod === bargauge || v.mod === table)) v.inst.update(v.lastData);
      }
    });
    this.range = getRange();
    this.vars.load().then(() => {
      this.vars.writeUrl(false);
      this.vars.render(this.varsEl);
      this.renderGrid();
      this.runAll();
    }).catch((e) => this.fail(`Variables could not be loaded: ${e.message}`));
  }

  fail(message) {
    this.grid.replaceChildren(el('div', { class: 'dashboard-error', role: 'alert' }, message));
    document.body.dataset.panelsTotal = '0';
    document.body.dataset.panelsDone = '0';
    document.body.dataset.dashboardError = message;
  }

  async onRange() {
    this.range = getRange();
    // Variables whose options depend on the range (refresh: 2) are reloaded first.
    if (this.model.variables.some((v) => Number(v.refresh) === 2)) {
      await this.vars.load().catch(() => {});
    } else {
      this.vars.reselect();
    }
    this.vars.render(this.varsEl);
    this.runAll();
  }

  ctx() {
    return this.vars.context({ range: this.range, dashboard: this.model.title });
  }

  renderGrid() {
    const ctx = this.ctx();
    const boxes = layout(this.model.panels);
    const keep = new Set(boxes.map((b) => b.panel.id));
    for (const [id, view] of this.views) {
      if (!keep.has(id)) {
        this.nearView.unobserve(view.el);
        view.inst?.destroy();
        view.el.remove();
        this.views.delete(id);
      }
    }
    const nodes = [];
    for (const box of boxes) {
      let view = this.views.get(box.panel.id);
      if (!view) {
        view = box.panel.type === 'row' ? this.makeRow(box.panel, ctx) : this.makePanel(box.panel, ctx);
        this.views.set(box.panel.id, view);
      }
      view.el.style.setProperty('--gx', String(box.x + 1));
      view.el.style.setProperty('--gw', String(box.w));
      view.el.style.setProperty('--gy', String(box.y + 1));
      view.el.style.setProperty('--gh', String(box.h));
      nodes.push(view.el);
    }
    this.grid.replaceChildren(...nodes);
    this.updateTotal();
  }

  makeRow(panel, ctx) {
    const row = createRow(panel, ctx, (p) => this.toggleRow(p));
    return { panel, el: row.el, row, isRow: true };
  }

  toggleRow(rowPanel) {
    const view = this.views.get(rowPanel.id);
    if (rowPanel.collapsed) {
      const shown = expandRow(this.model.panels, rowPanel);
      this.renderGrid();
      for (const p of shown) {
        const v = this.views.get(p.id);
        if (v) this.runWhenNear(v);
      }
    } else {
      collapseRow(this.model.panels, rowPanel);
      this.renderGrid();
    }
    view.row.refresh(this.ctx());
    view.row.focus();
  }

  makePanel(panel, ctx) {
    const mod = TYPES[panel.type] || unknown;
    const titleId = `panel-title-${panel.id}`;
    const title = el('h2', { class: 'panel-title', id: titleId }, interpolate(panel.title || '', ctx, 'text') || '\u00a0');
    const header = el('header', 'panel-header', title);
    if (panel.description) {
      const info = el('span', { class: 'panel-info', tabindex: '0', role: 'img', title: panel.description, 'aria-label': `About this panel: ${panel.description}` }, 'i');
      header.appendChild(info);
    }
    const linksSlot = el('span', 'panel-links-slot');
    const spinner = el('span', { class: 'panel-loading', 'aria-hidden': 'true' });
    spinner.hidden = true;
    header.append(linksSlot, spinner);
    const body = el('div', 'panel-body');
    const message = el('div', { class: 'panel-message', role: 'status' });
    message.hidden = true;
    const section = el('section', { class: `panel panel-${mod === unknown ? 'unknown' : panel.type}`, 'aria-labelledby': titleId }, header, body, message);
    section.dataset.panelId = String(panel.id);
    const view = { panel, el: section, body, message, title, spinner, linksSlot, mod, inst: null, near: false, waitingRound: null };
    this.elViews.set(section, view);
    this.nearView.observe(section);
    view.inst = mod.create(body, panel, { syncKey: this.syncKey, timezone: this.model.timezone });
    return view;
  }

  dataViews() {
    return [...this.views.values()].filter((v) => !v.isRow);
  }

  updateTotal() {
    document.body.dataset.panelsTotal = String(this.dataViews().length);
  }

  /** Runs every panel (or those using `changedVars`); a new round aborts the previous one's requests. */
  runAll(changedVars = null) {
    this.controller?.abort();
    this.controller = new AbortController();
    this.round += 1;
    this.done = 0;
    this.range = getRange();
    document.body.dataset.panelsDone = '0';
    this.updateTotal();
    this.annotations = fetchAnnotations(this.range.from, this.range.to);
    const ctx = this.ctx();
    for (const view of this.views.values()) {
      if (view.isRow) view.row.refresh(ctx);
    }
    const started = performance.now();
    this.roundStarted = started;
    for (const view of this.dataViews()) {
      if (changedVars && !this.uses(view.panel, changedVars)) {
        this.finish(view, this.round, view.el.dataset.state || 'data');
        continue;
      }
      this.runWhenNear(view);
    }
  }

  uses(panel, names) {
    const texts = [panel.title, panel.options?.content, ...(panel.targets || []).flatMap((t) => [t.expr, t.legendFormat, t.interval]),
      typeof panel.datasource === 'string' ? panel.datasource : panel.datasource?.uid];
    return texts.some((t) => [...referencedVariables(t)].some((n) => names.includes(n)));
  }

  async run(view, round, signal) {
    const { panel } = view;
    const ctx = this.ctx();
    const range = this.range;
    view.title.textContent = interpolate(panel.title || '', ctx, 'text') || '\u00a0';
    this.renderLinks(view, ctx);
    if (!view.mod.needsData) {
      const state = view.inst.update({ series: [], logs: [], range, ctx });
      this.showMessage(view, state === 'nodata' ? 'Nothing to show.' : null);
      this.finish(view, round, state);
      return;
    }
    const targets = panel.targets.filter((t) => !t.hide);
    if (targets.length === 0) {
      view.inst.update({ series: [], logs: [], range, ctx, annotations: [] });
      this.showMessage(view, 'No data — this panel has no queries.');
      this.finish(view, round, 'nodata');
      return;
    }
    view.spinner.hidden = false;
    view.el.setAttribute('aria-busy', 'true');
    const width = Math.max(100, Math.floor(view.body.clientWidth || 600));
    const resolveVar = (n) => this.vars.resolveDatasource(n);
    const settled = await Promise.allSettled(targets.map((t) => runTarget(panel, t, {
      range, widthPx: width, ctx, signal,
      dsType: datasourceType(t.datasource && !(typeof t.datasource === 'object' && t.datasource.uid === '-- Mixed --') ? t.datasource : panel.datasource, resolveVar),
    })));
    const annotations = panel.type === 'timeseries' ? await this.annotations : [];
    if (round !== this.round) return; // a newer round owns the panel now
    view.spinner.hidden = true;
    view.el.removeAttribute('aria-busy');
    const errors = settled.filter((r) => r.status === 'rejected').map((r) => r.reason);
    if (errors.some((e) => e?.name === 'AbortError')) return;
    const ok = settled.filter((r) => r.status === 'fulfilled').map((r) => r.value);
    const series = ok.filter((r) => r.kind === 'series').flatMap((r) => r.series);
    const logLines = ok.filter((r) => r.kind === 'logs').flatMap((r) => r.streams);
    if (errors.length && ok.length === 0) {
      view.inst.update({ series: [], logs: [], range, ctx, annotations: [] });
      this.showMessage(view, errors.map((e) => e?.message || String(e)).join('\n'), 'error');
      this.finish(view, round, 'error');
      return;
    }
    let state;
    try {
      view.lastData = { series, logs: logLines, range, ctx, annotations };
      state = view.inst.update(view.lastData);
    } catch (e) {
      // A panel that cannot draw what it got says so; the others carry on.
      this.showMessage(view, `This panel could not be drawn: ${e.message}`, 'error');
      this.finish(view, round, 'error');
      return;
    }
    if (state === 'nodata') {
      this.showMessage(view, 'No data', 'nodata');
      this.nodataHint(view, round);
    } else if (errors.length) {
      this.showMessage(view, `Some queries failed: ${errors.map((e) => e.message).join('; ')}`, 'warning');
    } else {
      this.showMessage(view, null);
    }
    this.finish(view, round, state);
  }

  showMessage(view, text, kind = 'nodata') {
    if (!text) {
      view.message.hidden = true;
      view.message.replaceChildren();
      view.el.classList.remove('has-message');
      return;
    }
    view.message.className = `panel-message panel-message-${kind}`;
    view.message.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    view.message.replaceChildren(el('span', 'panel-message-text', text));
    view.message.hidden = false;
    view.el.classList.toggle('has-message', kind === 'error' || kind === 'nodata');
  }

  async nodataHint(view, round) {
    const targets = await activeTargets();
    if (round !== this.round || view.el.dataset.state !== 'nodata') return;
    // A target not yet scraped ("unknown") is not down.
    const down = targets.filter((t) => t.health === 'down');
    if (!down.length) return;
    const jobs = jobsIn(view.panel);
    const t = down.find((x) => jobs.has(x.labels?.job) || jobs.has(x.labels?.service)) || down[0];
    const instance = t.labels?.instance || t.scrapeUrl || 'unknown';
    const job = t.labels?.job || t.scrapePool || 'unknown';
    const since = t.lastScrape && !t.lastScrape.startsWith('0001') ? ` (last scrape ${new Date(t.lastScrape).toLocaleTimeString()})` : '';
    view.message.replaceChildren(el('span', 'panel-message-text',
      `No data — target ${instance} of job ${job} is down${since}; see `, el('a', { href: '/targets' }, 'Targets')));
  }

  renderLinks(view, ctx) {
    const links = (view.panel.links || []).map((l) => resolveLink(l, ctx)).filter(Boolean);
    if (!links.length) {
      view.linksSlot.replaceChildren();
      return;
    }
    const summary = el('summary', { class: 'panel-links-toggle', 'aria-label': `Links of ${view.title.textContent}` }, '↗');
    const list = el('ul', 'panel-links-list', ...links.map((l) => el('li', null, anchor(l))));
    view.linksSlot.replaceChildren(el('details', 'panel-links', summary, list));
  }

  finish(view, round, state) {
    if (round !== this.round) return;
    const first = view.round !== round;
    view.round = round;
    view.el.dataset.state = state;
    // A text panel's body and a bar gauge's list scroll when their content
    // outgrows the grid's height (often on a phone).
    const titleId = view.el.getAttribute('aria-labelledby');
    const parts = view.panel.type === 'text' ? [view.body] : [...view.body.querySelectorAll(':scope > .bargauge')];
    for (const part of parts) reachableWhenScrolling(part, titleId);
    if (first) {
      this.done += 1;
      document.body.dataset.panelsDone = String(this.done);
      if (this.done >= this.dataViews().length) {
        // How long the round took, and when it ended since navigation began.
        document.body.dataset.renderMs = String(Math.round(performance.now() - this.roundStarted));
        document.body.dataset.doneAtMs = String(Math.round(performance.now()));
      }
    }
  }
}

const main = document.querySelector('main.dashboard');
if (main) new Dashboard(main).start();
