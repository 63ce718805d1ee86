// Template variables: their options (from the Prometheus and Loki label APIs,
// a query's result, a custom list, intervals), the current selection bound to
// `var-NAME` in the URL, the controls above the grid, and the values panel
// queries are interpolated with.

import { promLabelValues, promQuery, lokiLabelValues, promSeries } from './api.js';
import { interpolate, makeContext, datasourceType } from './queries.js';
import { formatDuration, parseDuration } from '../timerange.js';

const ALL = '$__all';

function asArray(v) {
  if (v == null) return [];
  return Array.isArray(v) ? v : [v];
}

function queryText(v) {
  if (v.query != null && typeof v.query === 'object') return v.query.query ?? v.query.expr ?? '';
  return v.query ?? v.definition ?? '';
}

/** Splits Grafana's custom list: `a, b, c` or `text : value`, `\,` escaping a comma. */
export function customOptions(text) {
  const parts = String(text || '').match(/(?:\\,|[^,])+/g) || [];
  return parts.map((p) => p.trim().replace(/\\,/g, ',')).filter((p) => p !== '').map((p) => {
    const m = /^(.+?)\s:\s(.+)$/.exec(p);
    return m ? { text: m[1].trim(), value: m[2].trim() } : { text: p, value: p };
  });
}

function applyRegex(values, regexText) {
  if (!regexText) return values.map((x) => ({ text: x, value: x }));
  let re;
  const m = /^\/(.*)\/([gimsuy]*)$/.exec(regexText);
  try {
    re = m ? new RegExp(m[1], m[2].replace('g', '')) : new RegExp(regexText);
  } catch (e) {
    throw new Error(`the variable's regex ${regexText} is invalid: ${e.message}`);
  }
  const out = [];
  for (const v of values) {
    const r = re.exec(v);
    if (!r) continue;
    if (r.groups && (r.groups.value || r.groups.text)) out.push({ text: r.groups.text ?? r.groups.value, value: r.groups.value ?? r.groups.text });
    else if (r.length > 1 && r[1] !== undefined) out.push({ text: r[1], value: r[1] });
    else out.push({ text: v, value: v });
  }
  return out;
}

function sortOptions(options, sort) {
  const num = (o) => {
    const m = /-?\d+(\.\d+)?/.exec(o.text);
    return m ? Number(m[0]) : -Infinity;
  };
  const s = Number(sort) || 0;
  const by = {
    1: (a, b) => a.text.localeCompare(b.text),
    2: (a, b) => b.text.localeCompare(a.text),
    3: (a, b) => num(a) - num(b),
    4: (a, b) => num(b) - num(a),
    5: (a, b) => a.text.toLowerCase().localeCompare(b.text.toLowerCase()),
    6: (a, b) => b.text.toLowerCase().localeCompare(a.text.toLowerCase()),
    7: (a, b) => a.text.localeCompare(b.text, undefined, { numeric: true }),
    8: (a, b) => b.text.localeCompare(a.text, undefined, { numeric: true }),
  }[s];
  return by ? [...options].sort(by) : options;
}

function sampleText(r) {
  const labels = r.metric || {};
  const name = labels.__name__ || '';
  const rest = Object.keys(labels).filter((k) => k !== '__name__').map((k) => `${k}="${labels[k]}"`).join(',');
  const [t, v] = r.value || [];
  return `${name}{${rest}} ${v} ${Math.round(Number(t) * 1000)}`;
}

const DS_NAMES = { prometheus: 'Prometheus', loki: 'Loki' };

export class Variables {
  constructor(defs, { getRange, onChange, onChangeStart = () => {} }) {
    this.defs = defs.map((d) => ({ ...d }));
    this.getRange = getRange;
    this.onChange = onChange;
    this.onChangeStart = onChangeStart;
    this.state = new Map(); // name → {options, selected: [values], error}
    // An open multi-value list closes when the pointer goes down elsewhere.
    document.addEventListener('pointerdown', (e) => {
      for (const det of this.container?.querySelectorAll('details.variable-multi[open]') || []) {
        if (!det.contains(e.target)) det.open = false;
      }
    });
  }

  resolveDatasource(name) {
    const d = this.defs.find((x) => x.name === name);
    if (!d) return name;
    if (d.type === 'datasource') return { type: String(queryText(d)).toLowerCase() || 'prometheus' };
    const sel = this.state.get(name)?.selected?.[0];
    return sel ?? name;
  }

  /** The interpolation context for panels: values, texts, All flags, built-ins. */
  context(extra) {
    const values = {};
    const texts = {};
    const allSelected = {};
    const multi = {};
    for (const d of this.defs) {
      const st = this.state.get(d.name);
      if (!st) continue;
      multi[d.name] = d.multi === true || d.includeAll === true;
      let sel = st.selected;
      if (sel.includes(ALL)) {
        allSelected[d.name] = true;
        values[d.name] = d.allValue != null && d.allValue !== '' ? d.allValue : '.*';
        texts[d.name] = 'All';
        continue;
      }
      if (d.type === 'interval' && sel[0] && sel[0].startsWith('$__auto_interval')) sel = [this.autoInterval(d)];
      values[d.name] = sel.length === 1 ? sel[0] : sel;
      texts[d.name] = sel.map((v) => st.options.find((o) => o.value === v)?.text ?? v);
      if (texts[d.name].length === 1) texts[d.name] = texts[d.name][0];
    }
    const range = this.getRange();
    return makeContext({ values, texts, allSelected, multi, range, intervalMs: 60_000, rateIntervalMs: 60_000, ...extra });
  }

  autoInterval(d) {
    const range = this.getRange();
    const count = Number(d.auto_count) || 30;
    const min = parseDuration(d.auto_min || '10s') || 10_000;
    return formatDuration(Math.max(min, (range.to - range.from) / count));
  }

  async optionsFor(d, signal) {
    const range = this.getRange();
    const ctx = this.context();
    switch (d.type) {
      case 'custom': return customOptions(queryText(d));
      case 'interval': {
        const opts = customOptions(queryText(d));
        if (d.auto) opts.unshift({ text: 'auto', value: `$__auto_interval_${d.name}` });
        return opts;
      }
      case 'constant': return [{ text: String(queryText(d)), value: String(queryText(d)) }];
      case 'textbox': {
        const v = asArray(d.current?.value)[0] ?? queryText(d) ?? '';
        return [{ text: String(v), value: String(v) }];
      }
      case 'datasource': {
        const t = String(queryText(d)).toLowerCase();
        const name = DS_NAMES[t] || t;
        return [{ text: name, value: name }];
      }
      case 'query': {
        const q = interpolate(queryText(d), ctx, 'regex').trim();
        const ds = datasourceType(d.datasource, (n) => this.resolveDatasource(n));
        const startS = range.from / 1000;
        const endS = range.to / 1000;
        let values;
        let m;
        if ((m = /^label_values\(\s*([a-zA-Z_][\w]*)\s*\)$/.exec(q))) {
          values = ds === 'loki' ? await lokiLabelValues(m[1], range.from, range.to, signal) : await promLabelValues(m[1], null, startS, endS, signal);
        } else if ((m = /^label_values\(\s*([\s\S]+?)\s*,\s*([a-zA-Z_][\w]*)\s*\)$/.exec(q))) {
          values = ds === 'loki' ? await lokiLabelValues(m[2], range.from, range.to, signal) : await promLabelValues(m[2], m[1], startS, endS, signal);
        } else if ((m = /^metrics\(([\s\S]*)\)$/.exec(q))) {
          const re = new RegExp(m[1].trim() || '.*');
          values = (await promLabelValues('__name__', null, startS, endS, signal)).filter((n) => re.test(n));
        } else if ((m = /^query_result\(([\s\S]+)\)$/.exec(q))) {
          const data = await promQuery(m[1], Math.floor(endS), signal);
          values = data.resultType === 'vector' ? data.result.map(sampleText) : [String(data.result?.[1] ?? '')];
        } else if ((m = /^series\(([\s\S]+)\)$/.exec(q))) {
          values = (await promSeries(m[1], startS, endS, signal)).map((s) => sampleText({ metric: s, value: [0, ''] }));
        } else if (q === '') {
          values = [];
        } else {
          throw new Error(`variable ${d.name}: query "${q}" is not label_values(), metrics() or query_result()`);
        }
        return sortOptions(applyRegex(asArray(values).map(String), d.regex), d.sort);
      }
      default:
        return [];
    }
  }

  /** Chooses the selection: the URL's `var-NAME`, else the saved current value, else the first option. */
  select(d, options, url) {
    const fromUrl = url.searchParams.getAll(`var-${d.name}`);
    let wanted = fromUrl.length ? fromUrl : asArray(d.current?.value);
    wanted = wanted.map((v) => (v === 'All' && d.includeAll ? ALL : String(v)));
    if (d.type === 'textbox' || d.type === 'constant') return [fromUrl[0] ?? options[0]?.value ?? ''];
    if (wanted.includes(ALL) && d.includeAll) return [ALL];
    const known = new Set(options.map((o) => o.value));
    let chosen = wanted.filter((v) => known.has(v));
    if (!d.multi) chosen = chosen.slice(0, 1);
    if (chosen.length === 0) {
      if (d.includeAll) return [ALL];
      return options.length ? [options[0].value] : [];
    }
    return chosen;
  }

  /** Loads every variable's options in order (a later one may use an earlier one's value). */
  async load(signal, onlyAfter = null) {
    const url = new URL(window.location.href);
    let reached = onlyAfter == null;
    for (const d of this.defs) {
      if (!reached) {
        if (d.name === onlyAfter) reached = true;
        continue;
      }
      let options = [];
      let error = null;
      try {
        options = await this.optionsFor(d, signal);
      } catch (e) {
        if (e.name === 'AbortError') throw e;
        error = e.message;
      }
      const selected = this.select(d, options, url);
      this.state.set(d.name, { options, selected, error });
    }
  }

  /** Takes the selections from the URL again (back and forward), keeping the options. */
  reselect() {
    const url = new URL(window.location.href);
    for (const d of this.defs) {
      const st = this.state.get(d.name);
      if (st) st.selected = this.select(d, st.options, url);
    }
  }

  /** Writes the selections into the URL as `var-NAME` (pushState when a person changed one). */
  writeUrl(push) {
    const url = new URL(window.location.href);
    for (const d of this.defs) {
      if (d.type === 'constant') continue;
      url.searchParams.delete(`var-${d.name}`);
      const st = this.state.get(d.name);
      for (const v of st?.selected || []) url.searchParams.append(`var-${d.name}`, v === ALL ? ALL : v);
    }
    if (url.toString() === window.location.href) return;
    if (push) history.pushState(history.state, '', url);
    else history.replaceState(history.state, '', url);
  }

  async change(name, selected) {
    const st = this.state.get(name);
    st.selected = selected;
    this.onChangeStart();
    this.writeUrl(true);
    // Variables after this one may depend on it: reload them, keeping selections still offered.
    await this.load(undefined, name);
    this.writeUrl(false);
    this.render(this.container);
    // The variables after this one were reloaded and may have changed too.
    const at = this.defs.findIndex((d) => d.name === name);
    this.onChange(this.defs.slice(at).map((d) => d.name));
  }

  /** The controls, into `container` (`#dashboard-variables`). */
  render(container) {
    this.container = container;
    if (!container) return;
    // Drawing the controls again must not drop a keyboard user's place.
    const focusedId = container.contains(document.activeElement) ? document.activeElement.id : '';
    const focusedSummary = document.activeElement?.closest?.('details.variable-multi')?.dataset.variable;
    const items = [];
    for (const d of this.defs) {
      if (Number(d.hide) === 2 || d.type === 'constant' || d.type === 'adhoc') continue;
      const st = this.state.get(d.name);
      if (!st) continue;
      const id = `var-${d.name}`;
      const wrap = document.createElement('div');
      wrap.className = 'variable';
      const labelText = d.label || d.name;
      if (d.type === 'textbox') {
        const label = document.createElement('label');
        label.htmlFor = id;
        label.textContent = labelText;
        const input = document.createElement('input');
        input.id = id;
        input.type = 'text';
        input.value = st.selected[0] ?? '';
        input.addEventListener('change', () => this.change(d.name, [input.value]));
        if (Number(d.hide) === 1) label.className = 'visually-hidden';
        wrap.append(label, input);
      } else if (d.multi) {
        wrap.appendChild(this.multiControl(d, st, id, labelText));
      } else {
        const label = document.createElement('label');
        label.htmlFor = id;
        label.textContent = labelText;
        if (Number(d.hide) === 1) label.className = 'visually-hidden';
        const sel = document.createElement('select');
        sel.id = id;
        const opts = d.includeAll ? [{ text: 'All', value: ALL }, ...st.options] : st.options;
        for (const o of opts) {
          const opt = document.createElement('option');
          opt.value = o.value;
          opt.textContent = o.text;
          opt.selected = st.selected.includes(o.value);
          sel.appendChild(opt);
        }
        if (opts.length === 0) {
          const opt = document.createElement('option');
          opt.textContent = st.error ? 'error' : 'no values';
          opt.value = '';
          sel.appendChild(opt);
        }
        sel.addEventListener('change', () => this.change(d.name, [sel.value]));
        wrap.append(label, sel);
      }
      if (st.error) {
        const err = document.createElement('span');
        err.className = 'variable-error';
        err.setAttribute('role', 'alert');
        err.textContent = st.error;
        wrap.appendChild(err);
      }
      items.push(wrap);
    }
    container.replaceChildren(...items);
    container.hidden = items.length === 0;
    if (focusedId) document.getElementById(focusedId)?.focus();
    else if (focusedSummary) container.querySelector(`details.variable-multi[data-variable="${CSS.escape(focusedSummary)}"] > summary`)?.focus();
  }

  multiControl(d, st, id, labelText) {
    const details = document.createElement('details');
    details.className = 'variable-multi';
    details.dataset.variable = d.name;
    const summary = document.createElement('summary');
    const name = document.createElement('span');
    name.className = 'variable-label';
    name.textContent = labelText;
    const value = document.createElement('span');
    value.className = 'variable-value';
    const textOf = (sel) => (sel.includes(ALL) ? 'All' : sel.map((v) => st.options.find((o) => o.value === v)?.text ?? v).join(' + ') || 'none');
    value.textContent = textOf(st.selected);
    summary.append(name, value);
    const box = document.createElement('fieldset');
    box.className = 'variable-options';
    const legend = document.createElement('legend');
    legend.className = 'visually-hidden';
    legend.textContent = labelText;
    box.appendChild(legend);
    const opts = d.includeAll ? [{ text: 'All', value: ALL }, ...st.options] : st.options;
    const boxes = [];
    opts.forEach((o, i) => {
      const lab = document.createElement('label');
      const cb = document.createElement('input');
      cb.type = 'checkbox';
      cb.id = `${id}-${i}`;
      cb.value = o.value;
      cb.checked = st.selected.includes(o.value);
      cb.addEventListener('change', () => {
        if (cb.value === ALL && cb.checked) for (const b of boxes) if (b !== cb) b.checked = false;
        if (cb.value !== ALL && cb.checked) for (const b of boxes) if (b.value === ALL) b.checked = false;
        value.textContent = textOf(current());
      });
      boxes.push(cb);
      lab.append(cb, document.createTextNode(` ${o.text}`));
      box.appendChild(lab);
    });
    if (opts.length === 0) box.appendChild(document.createTextNode(st.error ? 'error' : 'no values'));
    const current = () => boxes.filter((b) => b.checked).map((b) => b.value);
    details.append(summary, box);
    const initial = st.selected.join('\u0000');
    details.addEventListener('toggle', () => {
      if (details.open) {
        boxes[0]?.focus();
        return;
      }
      const now = current();
      if (now.join('\u0000') !== initial) this.change(d.name, now.length ? now : (d.includeAll ? [ALL] : []));
    });
    details.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && details.open) {
        e.stopPropagation();
        details.open = false;
        summary.focus();
      }
    });
    return details;
  }
}
