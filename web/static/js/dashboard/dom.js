// Small DOM helpers: every text goes in through textContent, never as HTML.

/** `el('div', 'cls', 'text')` or `el('div', {class, attrs…}, child, …)`. */
export function el(tag, props, ...children) {
  const e = document.createElement(tag);
  if (typeof props === 'string') e.className = props;
  else if (props) {
    for (const [k, v] of Object.entries(props)) {
      if (v == null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on') && typeof v === 'function') e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
  }
  for (const c of children) {
    if (c == null || c === false) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** An SVG element with presentation attributes (not style attributes, which the CSP refuses). */
export function svg(tag, attrs = {}, ...children) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v != null) e.setAttribute(k, String(v));
  for (const c of children) if (c != null) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

/** Black or white text, whichever reads better on `color` (WCAG relative luminance). */
export function contrastClass(color) {
  const c = document.createElement('canvas').getContext('2d');
  c.fillStyle = '#000';
  c.fillStyle = color;
  const norm = c.fillStyle;
  let r; let g; let b;
  if (norm.startsWith('#')) {
    const n = parseInt(norm.slice(1), 16);
    r = (n >> 16) & 255; g = (n >> 8) & 255; b = n & 255;
  } else {
    const m = /rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)/.exec(norm);
    if (!m) return 'on-dark';
    [r, g, b] = [Number(m[1]), Number(m[2]), Number(m[3])];
  }
  const lin = (x) => {
    const s = x / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  const L = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  return L > 0.4 ? 'on-light' : 'on-dark';
}

/**
 * A panel part whose content overflows it becomes a keyboard stop (a region
 * named by `labelledBy`), so it can be scrolled without a mouse; one that
 * fits gives its stop back. Only for parts without a role of their own.
 */
export function reachableWhenScrolling(node, labelledBy) {
  const scrolls = node.scrollHeight > node.clientHeight + 1 || node.scrollWidth > node.clientWidth + 1;
  if (scrolls) {
    node.tabIndex = 0;
    node.setAttribute('role', 'region');
    node.setAttribute('aria-labelledby', labelledBy);
  } else {
    node.removeAttribute('tabindex');
    node.removeAttribute('role');
    node.removeAttribute('aria-labelledby');
  }
}
