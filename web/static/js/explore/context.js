// Where the caret is in a PromQL or LogQL expression, as completion needs
// to know it: typing a metric or function name, a label name or value
// inside `{…}`, a label in `by (…)`, a duration in `[…]`, or (LogQL) a
// pipeline stage or field after `|`. Pure functions over the text, so the
// editor asks again on every keystroke without parsing the whole query.
//
// A context is `{kind, prefix, from, to, …}`: the text between `from` and
// `to` is what accepting a suggestion replaces (the whole word around the
// caret, so completing in the middle of a name does not leave half of it).

const IDENT_AT_END = /[A-Za-z_:][\w:]*$/;
const LABEL_AT_END = /[A-Za-z_][\w]*$/;
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const MATCH_OP_AT_END = /([A-Za-z_][\w]*)\s*(=~|!~|!=|=)\s*$/;

function wordAfter(text, caret, re = /^[\w:]*/) {
  return re.exec(text.slice(caret))[0].length;
}

function wordBefore(text, i) {
  const m = /([A-Za-z_][\w]*)\s*$/.exec(text.slice(0, i));
  return m ? m[1] : '';
}

/**
 * One pass over `text` up to `caret`: whether the caret is in a string or
 * comment, the open `{`, `[` and `(` around it, and (LogQL) the last
 * pipeline `|` that is still open.
 */
export function scan(text, caret) {
  const st = {
    quote: null, quoteStart: -1, comment: false,
    brace: -1, bracket: -1, parens: [], pipe: -1, pipeDepth: -1,
  };
  for (let i = 0; i < caret; i += 1) {
    const c = text[i];
    if (st.comment) {
      if (c === '\n') st.comment = false;
      continue;
    }
    if (st.quote) {
      if (c === '\\' && st.quote !== '`') i += 1;
      else if (c === st.quote) st.quote = null;
      continue;
    }
    switch (c) {
      case '#': st.comment = true; break;
      case '"': case "'": case '`': st.quote = c; st.quoteStart = i; break;
      case '{': st.brace = i; break;
      case '}': st.brace = -1; break;
      case '[': st.bracket = i; st.pipe = -1; break;
      case ']': st.bracket = -1; break;
      case '(': st.parens.push({ pos: i, word: wordBefore(text, i) }); break;
      case ')':
        st.parens.pop();
        if (st.pipe >= 0 && st.parens.length < st.pipeDepth) st.pipe = -1;
        break;
      case '|':
        // `|=` and `|~` are line filters, not a stage; `||` is no LogQL.
        if (st.brace < 0 && text[i + 1] !== '=' && text[i + 1] !== '~') {
          st.pipe = i;
          st.pipeDepth = st.parens.length;
        }
        break;
      default:
    }
  }
  if (st.quote && st.quoteStart >= caret) st.quote = null;
  return st;
}

/**
 * The complete equality matchers of a selector's text (`job="api", x!="y"`
 * gives `job="api"`), for narrowing label lookups: only `=` with a
 * non-empty value, so the selector sent is always one the API accepts.
 */
export function equalityMatchers(inner) {
  const out = [];
  const re = /([A-Za-z_][\w]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g;
  let m;
  while ((m = re.exec(inner)) !== null) {
    if (m[2] !== '=' || m[3] === '' || m[1] === '__name__') continue;
    let value;
    try {
      value = JSON.parse(`"${m[3]}"`);
    } catch {
      continue;
    }
    out.push([m[1], value]);
  }
  return out;
}

/** The caret inside `{…}`: a label name, or the value after its operator. */
function selectorContext(text, caret, st) {
  const before = text.slice(0, st.brace);
  const metricMatch = /([A-Za-z_:][\w:]*)\s*$/.exec(before);
  const metric = metricMatch && !GROUPING.has(metricMatch[1]) ? metricMatch[1] : '';
  if (st.quote) {
    if (st.quote !== '"' && st.quote !== '`') return null;
    const head = text.slice(st.brace + 1, st.quoteStart);
    const op = MATCH_OP_AT_END.exec(head);
    if (!op) return null;
    const from = st.quoteStart + 1;
    const rest = /^(?:[^"\\\n]|\\.)*/.exec(text.slice(caret))[0].length;
    return {
      kind: 'labelValue', label: op[1], op: op[2], metric,
      matchers: equalityMatchers(head.slice(0, head.length - op[0].length)),
      prefix: text.slice(from, caret), from, to: caret + rest, quoted: true,
      closed: text[caret + rest] === '"',
    };
  }
  const inner = text.slice(st.brace + 1, caret);
  const op = MATCH_OP_AT_END.exec(inner);
  if (op) {
    return {
      kind: 'labelValue', label: op[1], op: op[2], metric,
      matchers: equalityMatchers(inner.slice(0, inner.length - op[0].length)),
      prefix: '', from: caret, to: caret, quoted: false, closed: false,
    };
  }
  const name = /(^|,)\s*([A-Za-z_][\w]*)?$/.exec(inner);
  if (!name) return null;
  const prefix = name[2] || '';
  // The labels the selector matches on already are not offered again.
  const used = [...inner.matchAll(/([A-Za-z_][\w]*)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1]);
  return {
    kind: 'labelName', metric, matchers: equalityMatchers(inner), used,
    prefix, from: caret - prefix.length, to: caret + wordAfter(text, caret, /^\w*/),
  };
}

function durationContext(text, caret, st) {
  const inner = text.slice(st.bracket + 1, caret);
  const m = /(^|:)\s*(\w*)$/.exec(inner);
  if (!m) return null;
  const prefix = m[2];
  return { kind: 'duration', prefix, from: caret - prefix.length, to: caret + wordAfter(text, caret, /^\w*/) };
}

function groupingContext(text, caret, st) {
  const open = st.parens[st.parens.length - 1];
  if (!open || !GROUPING.has(open.word)) return null;
  const inner = text.slice(open.pos + 1, caret);
  const m = /(^|,)\s*([A-Za-z_][\w]*)?$/.exec(inner);
  if (!m) return null;
  const prefix = m[2] || '';
  return { kind: 'groupingLabel', prefix, from: caret - prefix.length, to: caret + wordAfter(text, caret, /^\w*/) };
}

/** The names of the metrics an expression selects, for narrowing label lists. */
export function metricsIn(text) {
  const out = new Set();
  const re = /([A-Za-z_:][\w:]*)\s*(\{|\[)/g;
  let m;
  while ((m = re.exec(text)) !== null) out.add(m[1]);
  const bare = /(?:^|[\s(,])([A-Za-z_:][\w:]*)(?=\s*(?:$|[)\s,]))/g;
  while ((m = bare.exec(text)) !== null) out.add(m[1]);
  return [...out];
}

/** What completing at `caret` in a PromQL expression means, or null. */
export function promqlContext(text, caret) {
  const st = scan(text, caret);
  if (st.comment) return null;
  if (st.brace >= 0) return selectorContext(text, caret, st);
  if (st.quote) return null;
  if (st.bracket >= 0) return durationContext(text, caret, st);
  const grouping = groupingContext(text, caret, st);
  if (grouping) return grouping;
  const head = text.slice(0, caret);
  const m = IDENT_AT_END.exec(head);
  const prefix = m ? m[0] : '';
  // A word glued to a number (`1e`, `5m`) is part of the number.
  if (prefix && /[\d.]$/.test(head.slice(0, caret - prefix.length))) return null;
  return { kind: 'expression', prefix, from: caret - prefix.length, to: caret + wordAfter(text, caret) };
}

/** What completing at `caret` in a LogQL expression means, or null. */
export function logqlContext(text, caret) {
  const st = scan(text, caret);
  if (st.comment) return null;
  if (st.brace >= 0) return selectorContext(text, caret, st);
  if (st.quote) return null;
  if (st.bracket >= 0) return durationContext(text, caret, st);
  const grouping = groupingContext(text, caret, st);
  if (grouping) return grouping;
  if (st.pipe >= 0) {
    const stage = text.slice(st.pipe + 1, caret);
    const word = LABEL_AT_END.exec(stage);
    const prefix = word ? word[0] : '';
    const from = caret - prefix.length;
    const to = caret + wordAfter(text, caret, /^\w*/);
    // Right after the `|`: a stage, or a label filter's field.
    if (/^\s*[A-Za-z_]?\w*$/.test(stage)) return { kind: 'stage', prefix, from, to };
    // `| drop a, b`, `| keep a`, `| unwrap x`: field names.
    if (/^\s*(drop|keep|unwrap)\s+(?:[\w]+\s*(?:=\s*"(?:[^"\\]|\\.)*"\s*)?,\s*)*\w*$/.test(stage)) {
      return { kind: 'field', prefix, from, to };
    }
    // A label filter chain: `| status >= 500 and level="error"` or `, method="GET"`.
    if (/(?:^|\s(?:and|or)\s|,)\s*\w*$/.test(stage) && !/^\s*(json|logfmt|pattern|regexp|line_format|label_format|decolorize)\b/.test(stage)) {
      return { kind: 'field', prefix, from, to };
    }
    return null;
  }
  const head = text.slice(0, caret);
  const m = LABEL_AT_END.exec(head);
  const prefix = m ? m[0] : '';
  if (prefix && /[\d.]$/.test(head.slice(0, caret - prefix.length))) return null;
  return { kind: 'expression', prefix, from: caret - prefix.length, to: caret + wordAfter(text, caret, /^\w*/) };
}

/** A LogQL log query (lines) starts with its stream selector; a metric query does not. */
export function isLogQuery(text) {
  const s = text.replace(/#[^\n]*/g, '').trim();
  return s.startsWith('{');
}

/**
 * The position an API's parse error names, 1-based: Prometheus's
 * `1:7: parse error: …`, Loki's `parse error at line 1, col 7: …`.
 * `{line, col, message}` or null.
 */
export function errorPosition(message) {
  // Prometheus's API puts `invalid parameter "query": ` before it.
  let m = /(?:^|: )(\d+):(\d+): parse error: ([\s\S]*)$/.exec(message);
  if (!m) m = /parse error at line (\d+), col (\d+): ([\s\S]*)$/.exec(message);
  if (!m) return null;
  return { line: Number(m[1]), col: Number(m[2]), message: m[3].trim() };
}

/** The offset in `text` of a 1-based line and column (columns count bytes, as both APIs do). */
export function offsetOf(text, line, col) {
  const lines = text.split('\n');
  let offset = 0;
  for (let i = 0; i < Math.min(line - 1, lines.length - 1); i += 1) offset += lines[i].length + 1;
  const target = lines[Math.min(line, lines.length) - 1] || '';
  // Bytes to characters: walk the line's characters until `col - 1` bytes are passed.
  const enc = new TextEncoder();
  let bytes = 0;
  let chars = 0;
  for (const ch of target) {
    if (bytes >= col - 1) break;
    bytes += enc.encode(ch).length;
    chars += ch.length;
  }
  return offset + chars;
}
