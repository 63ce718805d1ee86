// The dashboard model: Grafana's JSON normalized into one shape the renderer
// reads (panels on the 24-column grid, rows holding their panels when
// collapsed), and the layout that places them.

export class ModelError extends Error {
  constructor(path, message) {
    super(`${path}: ${message}`);
    this.name = 'ModelError';
    this.path = path;
  }
}

const DEFAULT_W = 12;
const DEFAULT_H = 8;

function isObject(v) {
  return v != null && typeof v === 'object' && !Array.isArray(v);
}

// Old panel types that still appear in shared dashboards, drawn by their successors.
function migratePanel(p) {
  if (p.type === 'graph') {
    const unit = p.yaxes?.[0]?.format;
    p.type = 'timeseries';
    p.fieldConfig = p.fieldConfig || { defaults: {}, overrides: [] };
    if (unit && !p.fieldConfig.defaults.unit) p.fieldConfig.defaults.unit = unit;
    if (p.stack) p.fieldConfig.defaults.custom = { ...(p.fieldConfig.defaults.custom || {}), stacking: { mode: 'normal' } };
    if (p.bars) p.fieldConfig.defaults.custom = { ...(p.fieldConfig.defaults.custom || {}), drawStyle: 'bars' };
  } else if (p.type === 'singlestat') {
    p.type = 'stat';
    p.fieldConfig = p.fieldConfig || { defaults: {}, overrides: [] };
    if (p.format && !p.fieldConfig.defaults.unit) p.fieldConfig.defaults.unit = p.format;
    if (p.decimals != null) p.fieldConfig.defaults.decimals = p.decimals;
    if (typeof p.thresholds === 'string' && Array.isArray(p.colors)) {
      const values = p.thresholds.split(',').map((s) => Number(s.trim())).filter(Number.isFinite);
      p.fieldConfig.defaults.thresholds = {
        mode: 'absolute',
        steps: [{ value: null, color: p.colors[0] }, ...values.map((v, i) => ({ value: v, color: p.colors[i + 1] || p.colors[p.colors.length - 1] }))],
      };
    }
  } else if (p.type === 'table-old') {
    p.type = 'table';
  }
  return p;
}

function normalizePanel(p, path) {
  if (!isObject(p)) throw new ModelError(path, 'a panel must be an object');
  const panel = migratePanel({ ...p });
  if (typeof panel.type !== 'string' || panel.type === '') throw new ModelError(`${path}.type`, 'missing panel type');
  if (panel.targets != null && !Array.isArray(panel.targets)) throw new ModelError(`${path}.targets`, 'must be an array');
  panel.targets = (panel.targets || []).map((t, i) => {
    if (!isObject(t)) throw new ModelError(`${path}.targets[${i}]`, 'a target must be an object');
    return { refId: t.refId || String.fromCharCode(65 + (i % 26)), ...t };
  });
  if (panel.gridPos != null) {
    const g = panel.gridPos;
    if (!isObject(g)) throw new ModelError(`${path}.gridPos`, 'must be an object');
    for (const k of ['x', 'y', 'w', 'h']) {
      if (g[k] != null && !Number.isFinite(Number(g[k]))) throw new ModelError(`${path}.gridPos.${k}`, 'must be a number');
    }
  }
  panel.fieldConfig = isObject(panel.fieldConfig) ? panel.fieldConfig : { defaults: {}, overrides: [] };
  panel.fieldConfig.defaults = isObject(panel.fieldConfig.defaults) ? panel.fieldConfig.defaults : {};
  panel.fieldConfig.overrides = Array.isArray(panel.fieldConfig.overrides) ? panel.fieldConfig.overrides : [];
  panel.options = isObject(panel.options) ? panel.options : {};
  if (panel.type === 'row') {
    if (panel.panels != null && !Array.isArray(panel.panels)) throw new ModelError(`${path}.panels`, 'must be an array');
    panel.panels = (panel.panels || []).map((c, i) => normalizePanel(c, `${path}.panels[${i}]`));
    panel.collapsed = panel.collapsed === true;
  }
  return panel;
}

/** Grafana's pre-5 `rows: [{panels: [{span}]}]` as the flat panel list of today. */
function fromLegacyRows(rows) {
  const panels = [];
  let y = 0;
  rows.forEach((row, ri) => {
    const h = Math.max(3, Math.round((parseInt(row.height, 10) || 250) / 30));
    if (row.showTitle || rows.length > 1) {
      panels.push({ type: 'row', title: row.title || `Row ${ri + 1}`, collapsed: row.collapse === true, gridPos: { x: 0, y, w: 24, h: 1 }, panels: [] });
      y += 1;
    }
    let x = 0;
    for (const p of row.panels || []) {
      const w = Math.max(1, Math.min(24, Math.round((p.span || 12) * 2)));
      if (x + w > 24) {
        x = 0;
        y += h;
      }
      const placed = { ...p, gridPos: { x, y, w, h } };
      if (row.collapse === true && panels.length && panels[panels.length - 1].type === 'row') panels[panels.length - 1].panels.push(placed);
      else panels.push(placed);
      x += w;
    }
    y += h;
  });
  return panels;
}

/**
 * The dashboard from its JSON (an object or text; bare or wrapped as
 * `{"dashboard": …}`), with every panel checked and given a `gridPos`.
 * Throws ModelError naming the path of a bad field.
 */
export function normalize(input) {
  let json = input;
  if (typeof json === 'string') {
    try {
      json = JSON.parse(json);
    } catch (e) {
      throw new ModelError('$', `not JSON: ${e.message}`);
    }
  }
  if (!isObject(json)) throw new ModelError('$', 'a dashboard must be an object');
  const root = isObject(json.dashboard) ? json.dashboard : json;
  const base = root === json ? '$' : '$.dashboard';
  let rawPanels = root.panels;
  if (rawPanels == null && Array.isArray(root.rows)) rawPanels = fromLegacyRows(root.rows);
  if (rawPanels == null) rawPanels = [];
  if (!Array.isArray(rawPanels)) throw new ModelError(`${base}.panels`, 'must be an array');
  const panels = rawPanels.map((p, i) => normalizePanel(p, `${base}.panels[${i}]`));
  if (root.templating != null && !isObject(root.templating)) throw new ModelError(`${base}.templating`, 'must be an object');
  const vars = root.templating?.list ?? [];
  if (!Array.isArray(vars)) throw new ModelError(`${base}.templating.list`, 'must be an array');
  vars.forEach((v, i) => {
    if (!isObject(v) || typeof v.name !== 'string' || v.name === '') throw new ModelError(`${base}.templating.list[${i}].name`, 'a variable needs a name');
  });
  let nextId = 1;
  const ids = new Set();
  const assign = (p) => {
    if (p.id == null || ids.has(p.id)) {
      while (ids.has(nextId)) nextId += 1;
      p.id = nextId;
    }
    ids.add(p.id);
    if (p.type === 'row') p.panels.forEach(assign);
  };
  panels.forEach(assign);
  placeMissing(panels);
  return {
    uid: root.uid || '',
    title: root.title || 'Dashboard',
    time: isObject(root.time) ? root.time : null,
    refresh: typeof root.refresh === 'string' ? root.refresh : '',
    variables: vars,
    panels,
    links: Array.isArray(root.links) ? root.links : [],
    graphTooltip: root.graphTooltip || 0,
    timezone: typeof root.timezone === 'string' ? root.timezone : '',
  };
}

/** Panels without a gridPos go 12 wide, 8 high, two to a row, after those that have one. */
function placeMissing(panels) {
  let bottom = 0;
  const all = panels.flatMap((p) => (p.type === 'row' ? [p, ...p.panels] : [p]));
  for (const p of all) if (p.gridPos) bottom = Math.max(bottom, (Number(p.gridPos.y) || 0) + (Number(p.gridPos.h) || DEFAULT_H));
  let x = 0;
  for (const p of panels) {
    if (p.gridPos) {
      p.gridPos = {
        x: clamp(Number(p.gridPos.x) || 0, 0, 23), y: Math.max(0, Number(p.gridPos.y) || 0),
        w: clamp(Number(p.gridPos.w) || DEFAULT_W, 1, 24), h: Math.max(1, Number(p.gridPos.h) || DEFAULT_H),
      };
      if (p.gridPos.x + p.gridPos.w > 24) p.gridPos.w = 24 - p.gridPos.x;
    } else if (p.type === 'row') {
      if (x !== 0) bottom += DEFAULT_H;
      x = 0;
      p.gridPos = { x: 0, y: bottom, w: 24, h: 1 };
      bottom += 1;
    } else {
      p.gridPos = { x, y: bottom, w: DEFAULT_W, h: DEFAULT_H };
      x += DEFAULT_W;
      if (x >= 24) {
        x = 0;
        bottom += DEFAULT_H;
      }
    }
    if (p.type === 'row') {
      for (const c of p.panels) {
        if (!c.gridPos) c.gridPos = { x: 0, y: p.gridPos.y + 1, w: DEFAULT_W, h: DEFAULT_H };
      }
    }
  }
}

function clamp(v, lo, hi) {
  return Math.max(lo, Math.min(hi, v));
}

function overlaps(a, b) {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/**
 * Where each top-level panel goes: Grafana's vertical compaction (each panel,
 * in y then x order, moves up while nothing is in the way), so a collapsed
 * row's space closes. Returns `[{panel, x, y, w, h}]` in reading order.
 */
export function layout(panels) {
  const sorted = [...panels].sort((a, b) => (a.gridPos.y - b.gridPos.y) || (a.gridPos.x - b.gridPos.x));
  const placed = [];
  for (const p of sorted) {
    const box = { panel: p, x: p.gridPos.x, y: p.gridPos.y, w: p.gridPos.w, h: p.type === 'row' ? 1 : p.gridPos.h };
    while (box.y > 0 && !placed.some((q) => overlaps({ ...box, y: box.y - 1 }, q))) box.y -= 1;
    while (placed.some((q) => overlaps(box, q))) box.y += 1;
    placed.push(box);
  }
  return placed.sort((a, b) => (a.y - b.y) || (a.x - b.x));
}

/** Expands a collapsed row: its panels move to the top level, below it. */
export function expandRow(panels, row) {
  const i = panels.indexOf(row);
  const children = row.panels;
  const shift = row.gridPos.y + 1 - Math.min(...children.map((c) => c.gridPos.y), row.gridPos.y + 1);
  const height = children.length ? Math.max(...children.map((c) => c.gridPos.y + shift + c.gridPos.h)) - (row.gridPos.y + 1) : 0;
  // Panels below the row move down to make room, as in Grafana.
  for (const p of panels) if (p !== row && p.gridPos.y > row.gridPos.y) p.gridPos.y += height;
  for (const c of children) c.gridPos.y += shift;
  row.collapsed = false;
  row.panels = [];
  panels.splice(i + 1, 0, ...children);
  return children;
}

/** Collapses a row: the top-level panels up to the next row move into it. */
export function collapseRow(panels, row) {
  const i = panels.indexOf(row);
  const ordered = layout(panels).map((b) => b.panel);
  const start = ordered.indexOf(row);
  const taken = [];
  for (let j = start + 1; j < ordered.length && ordered[j].type !== 'row'; j += 1) taken.push(ordered[j]);
  row.panels = taken;
  row.collapsed = true;
  const keep = panels.filter((p) => !taken.includes(p));
  panels.splice(0, panels.length, ...keep);
  void i;
  return taken;
}
