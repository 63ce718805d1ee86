// The text panel: markdown rendered into DOM nodes built one by one (nothing
// goes in as HTML, so a dashboard cannot inject markup or script): headings,
// paragraphs, emphasis, inline code, code blocks, lists, quotes, rules and
// links to http(s), mailto and same-site paths. `html` mode shows the source
// as text, since this page runs no dashboard's HTML.

import { el } from '../dom.js';
import { interpolate } from '../queries.js';
import { safeUrl } from '../links.js';

export const needsData = false;

/** Inline markdown: `code`, **strong**, *em* / _em_, [text](url), <autolinks>. */
export function inline(text) {
  const out = [];
  const re = /`([^`]+)`|\*\*([^*]+)\*\*|__([^_]+)__|\*([^*\s][^*]*)\*|_([^_\s][^_]*)_|\[([^\]]+)\]\(([^)\s]+)\)|<(https?:\/\/[^>\s]+)>/g;
  let last = 0;
  let m;
  while ((m = re.exec(text)) !== null) {
    if (m.index > last) out.push(document.createTextNode(text.slice(last, m.index)));
    if (m[1] != null) out.push(el('code', null, m[1]));
    else if (m[2] != null || m[3] != null) out.push(el('strong', null, ...inline(m[2] ?? m[3])));
    else if (m[4] != null || m[5] != null) out.push(el('em', null, ...inline(m[4] ?? m[5])));
    else if (m[6] != null) {
      if (safeUrl(m[7])) {
        const a = el('a', { href: m[7] }, ...inline(m[6]));
        if (/^https?:/.test(m[7])) a.rel = 'noopener noreferrer';
        out.push(a);
      } else out.push(document.createTextNode(m[6]));
    } else if (m[8] != null) out.push(el('a', { href: m[8], rel: 'noopener noreferrer' }, m[8]));
    last = re.lastIndex;
  }
  if (last < text.length) out.push(document.createTextNode(text.slice(last)));
  return out;
}

/** Block markdown into a DocumentFragment; the content's top heading level becomes `topLevel`. */
export function markdown(src, topLevel = 3) {
  const frag = document.createDocumentFragment();
  const lines = String(src).replace(/\r\n?/g, '\n').split('\n');
  // Headings keep their order under the panel's own h2: the largest one in
  // the content becomes h3 whatever the author started with.
  const levels = lines.map((l) => /^(#{1,6})\s/.exec(l)?.[1].length).filter(Boolean);
  const shift = topLevel - (levels.length ? Math.min(...levels) : 1);
  let i = 0;
  let para = [];
  const flush = () => {
    if (para.length) frag.appendChild(el('p', null, ...inline(para.join(' '))));
    para = [];
  };
  while (i < lines.length) {
    const line = lines[i];
    let m;
    if (/^\s*$/.test(line)) { flush(); i += 1; continue; }
    if ((m = /^```(\w*)\s*$/.exec(line))) {
      flush();
      const code = [];
      i += 1;
      while (i < lines.length && !/^```\s*$/.test(lines[i])) { code.push(lines[i]); i += 1; }
      i += 1;
      frag.appendChild(el('pre', null, el('code', null, code.join('\n'))));
      continue;
    }
    if ((m = /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line))) {
      flush();
      const level = Math.min(6, m[1].length + shift);
      frag.appendChild(el(`h${level}`, 'md-heading', ...inline(m[2])));
      i += 1;
      continue;
    }
    if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) { flush(); frag.appendChild(el('hr')); i += 1; continue; }
    if (/^\s*>/.test(line)) {
      flush();
      const q = [];
      while (i < lines.length && /^\s*>/.test(lines[i])) { q.push(lines[i].replace(/^\s*>\s?/, '')); i += 1; }
      frag.appendChild(el('blockquote', null, markdown(q.join('\n'), topLevel + 1)));
      continue;
    }
    if ((m = /^\s*([-*+]|\d+[.)])\s+/.exec(line))) {
      flush();
      const ordered = /\d/.test(m[1]);
      const list = el(ordered ? 'ol' : 'ul');
      while (i < lines.length && (m = /^\s*([-*+]|\d+[.)])\s+(.*)$/.exec(lines[i])) && /\d/.test(m[1]) === ordered) {
        list.appendChild(el('li', null, ...inline(m[2])));
        i += 1;
      }
      frag.appendChild(list);
      continue;
    }
    para.push(line.trim());
    i += 1;
  }
  flush();
  return frag;
}

export function create(body, panel) {
  const wrap = el('div', 'text-panel');
  body.appendChild(wrap);
  return {
    update({ ctx }) {
      const o = panel.options || {};
      const content = interpolate(o.content ?? panel.content ?? '', ctx, 'text');
      const mode = o.mode || panel.mode || 'markdown';
      if (mode === 'html') {
        wrap.replaceChildren(el('p', 'text-note', 'HTML content is shown as text.'), el('pre', 'text-source', content));
      } else if (mode === 'code') {
        wrap.replaceChildren(el('pre', 'text-source', el('code', null, content)));
      } else {
        wrap.replaceChildren(markdown(content));
      }
      return content.trim() ? 'data' : 'nodata';
    },
    destroy() { wrap.remove(); },
  };
}
