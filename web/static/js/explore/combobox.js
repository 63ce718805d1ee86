// Completion for one query editor (a <textarea>): a listbox under the
// caret that the keyboard drives without leaving the editor. The textarea
// keeps focus and names the highlighted option with aria-activedescendant;
// aria-controls and aria-autocomplete="list" tie it to the listbox (HTML
// gives a textarea no combobox role, so it stays a textbox with the
// combobox pattern's relations and keys). Arrows move, Enter or Tab take
// the option, Esc closes, Ctrl+Space opens it on demand; a live region
// says how many suggestions there are.
//
// The list shows a window of WINDOW options that follows the highlighted
// one (and the mouse wheel), rather than scrolling: a scrolled box would
// need a keyboard stop of its own, and here the keyboard stays in the
// editor. Each option carries its place in the whole list.

let nextId = 0;
const WINDOW = 10;

// The caret's position inside a textarea, from a mirror element laid out
// like it (the browser measures text; we do not).
const MIRRORED = ['boxSizing', 'width', 'borderTopWidth', 'borderRightWidth', 'borderBottomWidth', 'borderLeftWidth',
  'paddingTop', 'paddingRight', 'paddingBottom', 'paddingLeft', 'fontStyle', 'fontVariant', 'fontWeight',
  'fontStretch', 'fontSize', 'lineHeight', 'fontFamily', 'textAlign', 'textTransform', 'textIndent',
  'letterSpacing', 'wordSpacing', 'tabSize'];

function caretCoordinates(textarea, position) {
  const div = document.createElement('div');
  const cs = getComputedStyle(textarea);
  for (const p of MIRRORED) div.style[p] = cs[p];
  div.style.position = 'absolute';
  div.style.visibility = 'hidden';
  div.style.whiteSpace = 'pre-wrap';
  div.style.overflowWrap = 'break-word';
  div.style.top = '0';
  div.style.left = '-9999px';
  div.textContent = textarea.value.slice(0, position);
  const mark = document.createElement('span');
  mark.textContent = textarea.value.slice(position) || '.';
  div.appendChild(mark);
  document.body.appendChild(div);
  const top = mark.offsetTop + parseFloat(cs.borderTopWidth) - textarea.scrollTop;
  const left = mark.offsetLeft + parseFloat(cs.borderLeftWidth) - textarea.scrollLeft;
  const lineHeight = parseFloat(cs.lineHeight) || parseFloat(cs.fontSize) * 1.3;
  div.remove();
  return { top, left, height: lineHeight };
}

/**
 * Attaches completion to `textarea`. `source(text, caret, explicit)` answers
 * `{items: [{label, insert, kind, detail, caretBack, reopen, skipClosing}], from, to}`
 * or null. Returns `{close(), destroy()}`.
 */
export function attachCompletion(textarea, source) {
  nextId += 1;
  const id = `explore-completion-${nextId}`;
  const wrap = textarea.parentElement;
  const popup = document.createElement('div');
  popup.className = 'completion';
  popup.hidden = true;
  const list = document.createElement('ul');
  list.id = id;
  list.className = 'completion-list';
  list.setAttribute('role', 'listbox');
  list.setAttribute('aria-label', 'Suggestions');
  const more = document.createElement('p');
  more.className = 'completion-more';
  more.setAttribute('aria-hidden', 'true');
  popup.append(list, more);
  const live = document.createElement('p');
  live.className = 'visually-hidden';
  live.setAttribute('aria-live', 'polite');
  wrap.append(popup, live);
  textarea.setAttribute('aria-autocomplete', 'list');
  textarea.setAttribute('aria-haspopup', 'listbox');
  textarea.setAttribute('aria-controls', id);

  let items = [];
  let answer = null;
  let active = -1;
  let start = 0;
  let round = 0;
  let timer = 0;
  let accepting = false;

  function isOpen() {
    return !popup.hidden;
  }

  function close() {
    round += 1;
    clearTimeout(timer);
    if (!isOpen()) return;
    popup.hidden = true;
    list.replaceChildren();
    items = [];
    active = -1;
    textarea.removeAttribute('aria-activedescendant');
    wrap.classList.remove('completing');
  }

  function option(it, i) {
    const li = document.createElement('li');
    li.id = `${id}-${i}`;
    li.className = 'completion-option';
    li.setAttribute('role', 'option');
    li.setAttribute('aria-selected', String(i === active));
    li.setAttribute('aria-posinset', String(i + 1));
    li.setAttribute('aria-setsize', String(items.length));
    const label = document.createElement('span');
    label.className = 'completion-label';
    label.textContent = it.label;
    const kind = document.createElement('span');
    kind.className = `completion-kind kind-${it.kind}`;
    kind.textContent = it.kind;
    li.append(label, kind);
    if (it.detail) {
      const d = document.createElement('span');
      d.className = 'completion-detail';
      d.textContent = it.detail;
      li.appendChild(d);
    }
    // The editor keeps focus: a press on an option must not blur it.
    li.addEventListener('mousedown', (e) => e.preventDefault());
    li.addEventListener('click', () => accept(i));
    return li;
  }

  function draw() {
    list.replaceChildren(...items.slice(start, start + WINDOW).map((it, j) => option(it, start + j)));
    more.textContent = items.length > WINDOW
      ? `${start + 1}–${Math.min(items.length, start + WINDOW)} of ${items.length}: type on to narrow`
      : '';
    more.hidden = items.length <= WINDOW;
  }

  function highlight(i) {
    active = i;
    if (active < start) start = active;
    else if (active >= start + WINDOW) start = active - WINDOW + 1;
    draw();
    textarea.setAttribute('aria-activedescendant', `${id}-${active}`);
  }

  function place() {
    const c = caretCoordinates(textarea, answer.from);
    const box = wrap.clientWidth;
    popup.style.top = `${textarea.offsetTop + c.top + c.height + 2}px`;
    const width = Math.min(popup.offsetWidth || 320, box);
    popup.style.left = `${Math.max(0, Math.min(textarea.offsetLeft + c.left, box - width))}px`;
  }

  function show(next) {
    answer = next;
    items = next.items;
    start = 0;
    popup.hidden = false;
    wrap.classList.add('completing');
    highlight(0);
    place();
    live.textContent = `${items.length} suggestion${items.length === 1 ? '' : 's'}`;
  }

  async function refresh(explicit) {
    round += 1;
    const mine = round;
    const caret = textarea.selectionStart;
    if (caret !== textarea.selectionEnd) {
      close();
      return;
    }
    let next = null;
    try {
      next = await source(textarea.value, caret, explicit);
    } catch {
      next = null;
    }
    // A newer keystroke has asked again, or focus has gone.
    if (mine !== round || document.activeElement !== textarea) return;
    if (!next || !next.items.length) {
      close();
      if (explicit) live.textContent = 'No suggestions here';
      return;
    }
    show(next);
  }

  function accept(i) {
    const it = items[i];
    if (!it || !answer) return;
    const { from, to } = answer;
    textarea.focus();
    textarea.setSelectionRange(from, to);
    // insertText keeps the editor's undo history; setRangeText is the fallback.
    accepting = true;
    try {
      if (!document.execCommand('insertText', false, it.insert)) {
        textarea.setRangeText(it.insert, from, to, 'end');
        textarea.dispatchEvent(new Event('input', { bubbles: true }));
      }
    } finally {
      accepting = false;
    }
    let caret = from + it.insert.length - (it.caretBack || 0);
    if (it.skipClosing) caret += 1;
    textarea.setSelectionRange(caret, caret);
    close();
    live.textContent = `${it.label} inserted`;
    if (it.reopen) refresh(false);
  }

  textarea.addEventListener('keydown', (e) => {
    if (e.key === ' ' && e.ctrlKey) {
      e.preventDefault();
      refresh(true);
      return;
    }
    // Ctrl+Enter runs the query: the list, open or on its way, has nothing to add.
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      close();
      return;
    }
    if (!isOpen() || e.ctrlKey || e.metaKey || e.altKey) return;
    switch (e.key) {
      case 'ArrowDown':
        e.preventDefault();
        highlight((active + 1) % items.length);
        break;
      case 'ArrowUp':
        e.preventDefault();
        highlight((active - 1 + items.length) % items.length);
        break;
      case 'PageDown':
        e.preventDefault();
        highlight(Math.min(items.length - 1, active + 8));
        break;
      case 'PageUp':
        e.preventDefault();
        highlight(Math.max(0, active - 8));
        break;
      case 'Enter':
      case 'Tab':
        if (e.shiftKey) { close(); break; }
        e.preventDefault();
        accept(active);
        break;
      case 'Escape':
        // Only the list closes; the page's own Esc handlers do not see it.
        e.preventDefault();
        e.stopPropagation();
        close();
        break;
      default:
    }
  });
  textarea.addEventListener('input', () => {
    // Text put in by accept() asks again itself when it should.
    if (accepting) return;
    clearTimeout(timer);
    timer = setTimeout(() => refresh(false), 60);
  });
  textarea.addEventListener('blur', () => close());
  popup.addEventListener('wheel', (e) => {
    if (items.length <= WINDOW) return;
    e.preventDefault();
    start = Math.max(0, Math.min(items.length - WINDOW, start + Math.sign(e.deltaY) * 3));
    draw();
  }, { passive: false });
  textarea.addEventListener('click', () => { if (isOpen()) refresh(false); });

  return {
    close,
    destroy() {
      close();
      popup.remove();
      live.remove();
    },
  };
}
