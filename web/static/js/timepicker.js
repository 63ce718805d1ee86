// Enhances the server-rendered time picker form (#timepicker): a button
// naming the range opens a panel with the relative choices, an absolute
// from/to pair and the refresh choices. `t` opens it, `Esc` closes it,
// everything is reachable by keyboard. Choices set the URL and fire
// `belfry:timerange`; the refresh interval drives `belfry:refresh` ticks,
// which pages handle in place (a refresh never resets zoom or scroll).
// Without this script the form still works as a plain GET.

import {
  getRange, setRange, getRefresh, setRefresh, parseDuration, describeRange, parseTime,
} from './timerange.js';

function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else e.setAttribute(k, v);
  }
  e.append(...children.filter((c) => c != null));
  return e;
}

function toLocalInput(ms) {
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

let timer = 0;

function schedule() {
  clearInterval(timer);
  timer = 0;
  const ms = parseDuration(getRefresh());
  if (!ms) return;
  timer = setInterval(() => {
    // A hidden tab does not poll; it catches up when shown again.
    if (document.hidden) return;
    tick();
  }, Math.max(1000, ms));
}

function tick() {
  const ev = new CustomEvent('belfry:refresh', { cancelable: true, detail: { range: getRange() } });
  if (document.dispatchEvent(ev)) {
    // No page script refreshes in place: reload, which keeps the scroll position.
    window.location.reload();
  }
}

function enhance(form) {
  if (form.dataset.enhanced) return;
  form.dataset.enhanced = 'true';
  const fromSel = form.querySelector('select[name="from"]');
  const refreshSel = form.querySelector('select[name="refresh"]');
  const labels = {};
  for (const o of fromSel?.options || []) labels[o.value] = o.textContent.trim();

  const button = el('button', {
    type: 'button', class: 'tp-toggle', 'aria-expanded': 'false', 'aria-haspopup': 'dialog', 'aria-controls': 'tp-panel',
    'aria-keyshortcuts': 't', title: 'Time range (t)',
  });
  const buttonText = el('span', { class: 'tp-toggle-text' });
  const refreshBadge = el('span', { class: 'tp-refresh-badge' });
  button.append(el('span', { class: 'tp-icon', 'aria-hidden': 'true', text: '◷' }), buttonText, refreshBadge);

  const panel = el('div', { class: 'tp-panel', id: 'tp-panel', role: 'dialog', 'aria-label': 'Time range' });
  panel.hidden = true;

  const quick = el('ul', { class: 'tp-quick', 'aria-label': 'Relative ranges' });
  for (const o of fromSel?.options || []) {
    const b = el('button', { type: 'button', class: 'tp-choice', 'data-from': o.value, text: o.textContent.trim() });
    b.addEventListener('click', () => {
      close();
      setRange(o.value, 'now');
    });
    quick.appendChild(el('li', {}, b));
  }

  const absForm = el('div', { class: 'tp-absolute', role: 'group', 'aria-labelledby': 'tp-abs-title' });
  const fromIn = el('input', { type: 'datetime-local', id: 'tp-abs-from', step: '60' });
  const toIn = el('input', { type: 'datetime-local', id: 'tp-abs-to', step: '60' });
  const absErr = el('p', { class: 'tp-error', role: 'alert' });
  absErr.hidden = true;
  const apply = el('button', { type: 'button', class: 'tp-apply', text: 'Apply range' });
  apply.addEventListener('click', () => {
    const f = parseTime(fromIn.value);
    const t = parseTime(toIn.value);
    if (f == null || t == null || f >= t) {
      absErr.textContent = 'The start must be a date before the end.';
      absErr.hidden = false;
      return;
    }
    absErr.hidden = true;
    close();
    setRange(f, t);
  });
  absForm.append(
    el('h3', { id: 'tp-abs-title', class: 'tp-heading', text: 'Absolute range' }),
    el('label', { for: 'tp-abs-from', text: 'From' }), fromIn,
    el('label', { for: 'tp-abs-to', text: 'To' }), toIn,
    absErr, apply,
  );

  const refreshWrap = el('div', { class: 'tp-refresh' });
  if (refreshSel) {
    const label = form.querySelector('label[for="tp-refresh"]');
    const cur = getRefresh();
    if (cur && ![...refreshSel.options].some((o) => o.value === cur)) {
      refreshSel.appendChild(el('option', { value: cur, text: cur }));
    }
    refreshSel.value = cur || 'off';
    if (!refreshSel.value) refreshSel.selectedIndex = 0;
    refreshSel.addEventListener('change', () => {
      setRefresh(refreshSel.value === 'off' ? '' : refreshSel.value);
    });
    refreshWrap.append(label || el('label', { for: 'tp-refresh', text: 'Refresh' }), refreshSel);
  }

  panel.append(
    el('div', { class: 'tp-col' }, el('h3', { class: 'tp-heading', text: 'Relative range' }), quick),
    el('div', { class: 'tp-col' }, absForm, refreshWrap),
  );

  // The no-script controls give way to the button; the refresh select moves into the panel.
  for (const child of [...form.children]) {
    if (child !== refreshSel && !(child.tagName === 'LABEL' && child.htmlFor === 'tp-refresh')) child.hidden = true;
  }
  form.classList.add('tp-enhanced');
  form.append(button, panel);

  function update() {
    const r = getRange();
    buttonText.textContent = describeRange(r, labels);
    if (fromSel) fromSel.value = r.raw.to === 'now' && labels[r.raw.from] ? r.raw.from : fromSel.value;
    for (const b of quick.querySelectorAll('.tp-choice')) {
      b.setAttribute('aria-pressed', String(r.raw.to === 'now' && b.dataset.from === r.raw.from));
    }
    fromIn.value = toLocalInput(r.from);
    toIn.value = toLocalInput(r.to);
    const ref = getRefresh();
    refreshBadge.textContent = ref ? ` ⟳ ${ref}` : '';
    // The name holds the visible words in their order ("Last 6 hours",
    // "30s"), so a person who says what they see can reach the button.
    button.setAttribute('aria-label', `Time range: ${buttonText.textContent}${ref ? `, ${ref} auto-refresh` : ''}`);
    if (refreshSel && refreshSel.value !== (ref || 'off')) {
      if (ref && ![...refreshSel.options].some((o) => o.value === ref)) refreshSel.appendChild(el('option', { value: ref, text: ref }));
      refreshSel.value = ref || 'off';
    }
  }

  function open() {
    update();
    panel.hidden = false;
    button.setAttribute('aria-expanded', 'true');
    (quick.querySelector('[aria-pressed="true"]') || quick.querySelector('button'))?.focus();
  }

  function close(restoreFocus = false) {
    if (panel.hidden) return;
    panel.hidden = true;
    button.setAttribute('aria-expanded', 'false');
    if (restoreFocus) button.focus();
  }

  button.addEventListener('click', () => (panel.hidden ? open() : close()));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (fromSel) setRange(fromSel.value, 'now');
  });
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !panel.hidden) {
      e.preventDefault();
      close(true);
      return;
    }
    if (e.key === 't' && !e.ctrlKey && !e.metaKey && !e.altKey) {
      const t = e.target;
      const typing = t instanceof HTMLElement && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
      if (typing) return;
      e.preventDefault();
      if (panel.hidden) open();
      else close(true);
    }
  });
  document.addEventListener('pointerdown', (e) => {
    if (!panel.hidden && !form.contains(e.target)) close();
  });
  panel.addEventListener('keydown', (e) => {
    // Arrow keys move through the relative choices.
    const items = [...quick.querySelectorAll('button')];
    const i = items.indexOf(document.activeElement);
    if (i < 0) return;
    if (e.key === 'ArrowDown') { e.preventDefault(); items[(i + 1) % items.length].focus(); }
    if (e.key === 'ArrowUp') { e.preventDefault(); items[(i + items.length - 1) % items.length].focus(); }
  });
  document.addEventListener('belfry:timerange', update);
  document.addEventListener('belfry:rangedefaults', update);
  document.addEventListener('belfry:refreshinterval', () => {
    update();
    schedule();
  });
  update();
  schedule();
}

function init() {
  const form = document.getElementById('timepicker');
  if (form) enhance(form);
}

if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
else init();
