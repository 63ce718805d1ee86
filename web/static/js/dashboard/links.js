// Panel links and data links: URLs with `${__field.labels.X}`, `${__value.raw}`,
// `${__url_time_range}`, `${__series.name}` and the dashboard's variables
// interpolated, and kept to safe schemes.

import { interpolate } from './queries.js';
import { labelBuiltins } from './fields.js';

/** True for a link a page may follow: same-site paths and http(s)/mailto URLs. */
export function safeUrl(url) {
  const s = String(url || '').trim();
  if (s === '') return false;
  try {
    const u = new URL(s, window.location.href);
    return ['http:', 'https:', 'mailto:'].includes(u.protocol);
  } catch {
    return false;
  }
}

/** Interpolates a link for one value of one series; returns `{title, url, targetBlank}` or null. */
export function resolveLink(link, ctx, { series, value, time } = {}) {
  const builtins = { ...ctx.builtins };
  if (series) {
    Object.assign(builtins, labelBuiltins(series.labels), { '__series.name': series.name, '__field.name': series.name });
  }
  if (value !== undefined) {
    builtins['__value.raw'] = value == null ? '' : String(value);
    builtins['__value.numeric'] = value == null ? '' : String(value);
    builtins['__value.text'] = value == null ? '' : String(value);
  }
  if (time != null) builtins['__value.time'] = String(Math.round(time));
  const local = { ...ctx, builtins };
  // Variables inside a URL go percent-encoded unless a format is named.
  const url = interpolate(link.url || '', local);
  if (!safeUrl(url)) return null;
  return { title: interpolate(link.title || url, local), url, targetBlank: link.targetBlank === true };
}

/** An `<a>` for a resolved link (new tab with noopener when asked). */
export function anchor(link, cls = 'panel-link') {
  const a = document.createElement('a');
  a.className = cls;
  a.href = link.url;
  a.textContent = link.title;
  if (link.targetBlank) {
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
  }
  return a;
}
