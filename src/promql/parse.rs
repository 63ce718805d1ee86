//! Query parsing: `promql-parser` plus what it lacks. Its errors say what
//! is wrong but not where, in its own wording; Prometheus says
//! `1:7: parse error: ...`. This module finds the position (from the
//! lexer's tokens), rewords the common messages as Prometheus writes them,
//! checks durations and `@` timestamps before promql-parser converts them
//! (its conversions panic on huge floats and wrap or drop out-of-range
//! integers), and turns any panic left in the parser into an error.

use std::panic::{AssertUnwindSafe, catch_unwind};

use lrpar::{Lexeme, Lexer};
use promql_parser::parser::token::*;
use promql_parser::parser::{Expr, value::ValueType};
use promql_parser::util::{escape_string, unquote_string};

use crate::model::{DurationError, PromDuration, compile_go_regex_anchored, translate_go_regex};

use super::error::PromqlError;

/// promql-parser's message for any grammar (as opposed to lexical or type)
/// error.
const SYNTAX_ERROR: &str = "invalid promql query";

/// Go's `time.Duration` holds at most this many nanoseconds (~292 years);
/// Prometheus refuses longer durations.
const MAX_DURATION_NS: u128 = i64::MAX as u128;

/// One lexer token: kind and byte span.
#[derive(Debug, Clone, Copy)]
struct Tok {
    id: TokenId,
    start: usize,
    end: usize,
}

/// Parses a query; errors carry Prometheus's `line:col: parse error: `
/// prefix.
pub fn parse(query: &str) -> Result<Expr, PromqlError> {
    let fail = |offset: usize, msg: String| {
        let (line, col) = line_col(query, offset);
        PromqlError::Parse(format!("{line}:{col}: parse error: {msg}"))
    };
    let toks = match tokens(query) {
        Ok(t) => t,
        Err(e) => {
            let msg = e.to_string();
            let offset = lexical_error_offset(query, &msg);
            return Err(fail(offset, reword(&msg)));
        }
    };
    if let Some((offset, msg)) = check_literals(query, &toks) {
        return Err(fail(offset, msg));
    }
    let parsed = parse_guarded(query);
    if let Err(ParserFailure::Rejected(msg)) = &parsed
        && let Some(rewritten) = with_go_regex_rewritten(query, &toks, msg)
    {
        return parse(&rewritten);
    }
    match parsed {
        Ok(expr) => Ok(expr),
        Err(ParserFailure::Rejected(msg)) if msg == SYNTAX_ERROR => {
            let (offset, msg) = syntax_error(query, &toks);
            Err(fail(offset, msg))
        }
        Err(e) => {
            let msg = e.to_string();
            Err(fail(semantic_error_offset(query, &toks, &msg), reword(&msg)))
        }
    }
}

/// What promql-parser reported; it words its errors as plain strings, which
/// are reworded and positioned the way Prometheus reports them.
#[derive(Debug, thiserror::Error)]
enum ParserFailure {
    #[error("{0}")]
    Rejected(String),
    #[error("the query could not be parsed (parser failure)")]
    Panicked,
}

impl ParserFailure {
    /// Whether promql-parser said exactly `msg`.
    fn is(&self, msg: &str) -> bool {
        matches!(self, ParserFailure::Rejected(m) if m == msg)
    }
}

/// promql-parser's `parse`, with a panic inside it turned into an error.
fn parse_guarded(query: &str) -> Result<Expr, ParserFailure> {
    match catch_unwind(AssertUnwindSafe(|| promql_parser::parser::parse(query))) {
        Ok(parsed) => parsed.map_err(ParserFailure::Rejected),
        Err(_) => Err(ParserFailure::Panicked),
    }
}

/// promql-parser compiles each regex matcher itself and knows only one of
/// Go's differences (a literal `{`); a pattern Go accepts that it refuses
/// (`\Q…\E`, `[[]`, an octal escape) is handed to it again rewritten in the
/// `regex` crate's syntax, which means the same and which the matcher's own
/// rewrite leaves as it is. None when the message is about something else
/// or the rewrite changes nothing (then the error stands, and each retry
/// rewrites one more pattern, so this ends).
fn with_go_regex_rewritten(query: &str, toks: &[Tok], msg: &str) -> Option<String> {
    let re = msg.strip_prefix("illegal regex for ")?;
    let translated = translate_go_regex(re).ok()?;
    if translated == re || compile_go_regex_anchored(re).is_err() {
        return None;
    }
    let tok = toks
        .windows(2)
        .find(|w| {
            matches!(w[0].id, T_EQL_REGEX | T_NEQ_REGEX)
                && w[1].id == T_STRING
                && unquote_string(text(query, &w[1])).is_ok_and(|v| v == re)
        })
        .map(|w| w[1])?;
    Some(format!(
        "{}\"{}\"{}",
        &query[..tok.start],
        escape_string(&translated),
        &query[tok.end..]
    ))
}

fn tokens(query: &str) -> Result<Vec<Tok>, ParserFailure> {
    let lexer = promql_parser::parser::lexer(query).map_err(ParserFailure::Rejected)?;
    Ok(lexer
        .iter()
        .filter_map(Result::ok)
        .map(|l| Tok {
            id: l.tok_id(),
            start: l.span().start(),
            end: l.span().end(),
        })
        .collect())
}

/// 1-based line and column (in bytes, as Prometheus counts) of an offset.
fn line_col(query: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(query.len());
    let before = &query.as_bytes()[..offset];
    let line = 1 + before.iter().filter(|b| **b == b'\n').count();
    let line_start = before.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    (line, offset - line_start + 1)
}

fn text<'q>(query: &'q str, t: &Tok) -> &'q str {
    query.get(t.start..t.end).unwrap_or("")
}

// ------------------------------------------------------------ literals

/// Durations and `@` timestamps that promql-parser would mishandle.
fn check_literals(query: &str, toks: &[Tok]) -> Option<(usize, String)> {
    for (i, t) in toks.iter().enumerate() {
        let prev = |n: usize| i.checked_sub(n).map(|j| toks[j].id);
        let s = text(query, t);
        match t.id {
            T_DURATION => {
                let d = match PromDuration::parse(s) {
                    Ok(d) => d,
                    Err(DurationError::OutOfRange(_)) => {
                        return Some((t.start, "duration out of range".into()));
                    }
                    Err(_) => return Some((t.start, format!("bad duration syntax: {s:?}"))),
                };
                // promql-parser reads each unit's count as a u32 and
                // silently drops larger ones.
                let huge_part = s
                    .split(|c: char| !c.is_ascii_digit())
                    .any(|n| !n.is_empty() && n.parse::<u32>().is_err());
                if huge_part || d.as_duration().as_nanos() > MAX_DURATION_NS {
                    return Some((t.start, "duration out of range".into()));
                }
            }
            T_NUMBER => {
                let v = parse_number(s);
                let after_sign = matches!(prev(1), Some(T_SUB | T_ADD));
                let before = if after_sign { prev(2) } else { prev(1) };
                match before {
                    Some(T_LEFT_BRACKET | T_COLON | T_OFFSET) => {
                        // A number of seconds used as a duration.
                        let ok = v.is_some_and(|v| v.is_finite() && v.abs() * 1e9 <= i64::MAX as f64);
                        if !ok {
                            return Some((t.start, "duration out of range".into()));
                        }
                    }
                    Some(T_AT) => {
                        let ok = v.is_some_and(|v| v.is_finite() && (v * 1000.0).abs() < i64::MAX as f64);
                        if !ok {
                            let shown = v.map_or_else(|| s.to_string(), |v| format!("{v:.6}"));
                            return Some((
                                selector_start(toks, i),
                                format!("timestamp out of bounds for @ modifier: {shown}"),
                            ));
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    None
}

fn parse_number(s: &str) -> Option<f64> {
    let l = s.to_ascii_lowercase();
    if let Some(hex) = l.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).ok().map(|v| v as f64);
    }
    l.parse().ok()
}

// ------------------------------------------------------------ lexical errors

/// Where the lexer stopped: the end for errors about running out of input,
/// else the character whose inclusion first produces this error.
fn lexical_error_offset(query: &str, msg: &str) -> usize {
    let at_end = [
        "end of input",
        "unclosed",
        "can not be at the end",
        "not terminated",
    ];
    if at_end.iter().any(|m| msg.contains(m)) {
        return query.len();
    }
    if msg.starts_with("unterminated quoted string") {
        let quote = msg.chars().last().unwrap_or('"');
        return unterminated_string_start(query, quote).unwrap_or(query.len());
    }
    // The lexer reads left to right and stops at the first error, so the
    // shortest prefix that fails with the same message ends at the culprit.
    let ends: Vec<usize> = query.char_indices().map(|(i, c)| i + c.len_utf8()).collect();
    let fails_here = |end: usize| matches!(tokens(&query[..end]), Err(m) if m.is(msg));
    let (mut lo, mut hi) = (0usize, ends.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        if fails_here(ends[mid]) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    let Some(&end) = ends.get(lo) else {
        return query.len();
    };
    let culprit = query[..end].char_indices().last().map_or(0, |(i, _)| i);
    // A malformed number or duration is reported where it starts.
    if let Some(bad) = msg.strip_prefix("bad number or duration syntax: ") {
        let bad = bad.trim_end_matches(']');
        if let Some(start) = query[..end.min(query.len())].rfind(bad) {
            return start;
        }
    }
    culprit
}

/// The opening quote of the string literal left open at the end.
fn unterminated_string_start(query: &str, quote: char) -> Option<usize> {
    let mut open: Option<(usize, char)> = None;
    let mut escaped = false;
    for (i, c) in query.char_indices() {
        match open {
            Some((_, q)) => {
                if escaped {
                    escaped = false;
                } else if c == '\\' && q != '`' {
                    escaped = true;
                } else if c == q {
                    open = None;
                }
            }
            None if c == '"' || c == '\'' || c == '`' => open = Some((i, c)),
            None => {}
        }
    }
    open.filter(|(_, q)| *q == quote).map(|(i, _)| i)
}

// ------------------------------------------------------------ syntax errors

/// Texts appended to a token prefix (before closing its open brackets) to
/// test whether some valid query starts with that prefix.
const CONTINUATIONS: &[&str] = &[
    "",
    " x",
    " 1",
    " \"x\"",
    "=\"x\"",
    " 5m",
    " (x)",
    " (x) (x)",
    " (x) x",
    " x, x",
    " 1, x",
    " \"x\", x",
];

/// A grammar error: the first token after which no valid query can
/// continue, found by bisection (a prefix that cannot be continued stays
/// so when extended).
fn syntax_error(query: &str, toks: &[Tok]) -> (usize, String) {
    let (mut lo, mut hi) = (1usize, toks.len());
    if toks.is_empty() || continuable(query, toks, toks.len()) {
        return (0, "unexpected input".into());
    }
    while lo < hi {
        let mid = (lo + hi) / 2;
        if continuable(query, toks, mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    let t = toks[lo - 1];
    (t.start, format!("unexpected {}", describe(query, &t)))
}

/// Whether the first `n` tokens start some valid query.
fn continuable(query: &str, toks: &[Tok], n: usize) -> bool {
    let prefix = &toks[..n];
    let end = prefix.iter().rev().find(|t| t.id != T_EOF).map_or(0, |t| t.end);
    if prefix.last().is_some_and(|t| t.id == T_EOF) {
        // The whole query: valid exactly when it parses as is.
        return !matches!(parse_guarded(query), Err(m) if m.is(SYNTAX_ERROR));
    }
    let mut closers = String::new();
    for t in prefix {
        match t.id {
            T_LEFT_PAREN => closers.push(')'),
            T_LEFT_BRACE => closers.push('}'),
            T_LEFT_BRACKET => closers.push(']'),
            T_RIGHT_PAREN | T_RIGHT_BRACE | T_RIGHT_BRACKET => {
                closers.pop();
            }
            _ => {}
        }
    }
    let closers: String = closers.chars().rev().collect();
    CONTINUATIONS.iter().any(|c| {
        let candidate = format!("{}{c}{closers}", &query[..end]);
        // Type errors mean the grammar accepted it.
        !matches!(parse_guarded(&candidate), Err(m) if m.is(SYNTAX_ERROR) || tokens(&candidate).is_err())
    })
}

fn describe(query: &str, t: &Tok) -> String {
    let s = text(query, t);
    match t.id {
        T_EOF => "end of input".into(),
        T_IDENTIFIER | T_METRIC_IDENTIFIER => format!("identifier {s:?}"),
        T_NUMBER => format!("number {s:?}"),
        T_STRING => format!("string {s:?}"),
        T_DURATION => format!("duration {s:?}"),
        T_LEFT_PAREN => "left parenthesis \"(\"".into(),
        T_RIGHT_PAREN => "right parenthesis \")\"".into(),
        T_COMMA => "\",\"".into(),
        _ if s.chars().all(|c| c.is_ascii_alphabetic() || c == '_') => format!("<{s}>"),
        _ => format!("{s:?}"),
    }
}

// ------------------------------------------------------------ type errors

/// Where a type or structure error (found after parsing) points, as
/// Prometheus points: the offending argument, function or selector.
fn semantic_error_offset(query: &str, toks: &[Tok], msg: &str) -> usize {
    if let Some(name) = between(msg, "unknown function with name '", "'") {
        return call_name(query, toks, name).unwrap_or(0);
    }
    if let Some(name) = between(msg, "in call to function '", "'") {
        let got = msg.rsplit("got ").next().unwrap_or("");
        return call_name(query, toks, name)
            .and_then(|i| argument_of_type(query, toks, i + 1, got))
            .unwrap_or(0);
    }
    if let Some(name) = between(msg, "in call to '", "'") {
        return call_name(query, toks, name).map_or(0, |i| toks[i].start);
    }
    if msg.contains("in aggregation expression") {
        let got = msg.rsplit("got ").next().unwrap_or("");
        return aggregation_parameter(query, toks, got).unwrap_or(0);
    }
    if msg.starts_with("ranges only allowed for vector selectors") {
        return toks
            .windows(2)
            .find(|w| w[1].id == T_LEFT_BRACKET && matches!(w[0].id, T_RIGHT_BRACKET | T_RIGHT_PAREN))
            .map_or(0, |w| w[1].start);
    }
    if msg.starts_with("duration must be greater than 0") {
        return toks
            .iter()
            .find(|t| {
                let s = text(query, t);
                (t.id == T_DURATION && PromDuration::parse(s).is_ok_and(|d| d.is_zero()))
                    || (t.id == T_NUMBER && parse_number(s) == Some(0.0))
            })
            .map_or(0, |t| t.start);
    }
    if msg.starts_with("vector selector must contain at least one non-empty matcher") {
        return toks
            .iter()
            .enumerate()
            .find(|(i, t)| {
                t.id == T_LEFT_BRACE
                    && (*i == 0 || !matches!(toks[i - 1].id, T_IDENTIFIER | T_METRIC_IDENTIFIER))
            })
            .map_or(0, |(_, t)| t.start);
    }
    if msg.starts_with("unary expression") {
        return toks
            .iter()
            .enumerate()
            .find(|(i, t)| {
                matches!(t.id, T_SUB | T_ADD) && (*i == 0 || is_operand_start_context(toks[i - 1].id))
            })
            .map_or(0, |(_, t)| t.start);
    }
    if msg.starts_with("binary expression must contain only scalar and instant vector types") {
        return toks
            .iter()
            .enumerate()
            .find(|(i, t)| {
                t.id == T_STRING
                    && (toks.get(i + 1).is_some_and(|n| is_binary_operator(n.id))
                        || (*i > 0 && is_binary_operator(toks[i - 1].id)))
            })
            .map_or(0, |(_, t)| t.start);
    }
    if msg.contains("may not be set multiple times") {
        let modifier = if msg.starts_with('@') { T_AT } else { T_OFFSET };
        return toks
            .iter()
            .position(|t| t.id == modifier)
            .map_or(0, |i| selector_start(toks, i));
    }
    if let Some(re) = msg.strip_prefix("illegal regex for ") {
        return regex_matcher(query, toks, re).unwrap_or(0);
    }
    0
}

fn between<'m>(msg: &'m str, before: &str, after: &str) -> Option<&'m str> {
    let rest = &msg[msg.find(before)? + before.len()..];
    Some(&rest[..rest.find(after)?])
}

fn is_binary_operator(id: TokenId) -> bool {
    matches!(
        id,
        T_ADD
            | T_SUB
            | T_MUL
            | T_DIV
            | T_MOD
            | T_POW
            | T_ATAN2
            | T_EQLC
            | T_NEQ
            | T_GTR
            | T_GTE
            | T_LSS
            | T_LTE
            | T_LAND
            | T_LOR
            | T_LUNLESS
    )
}

fn is_operand_start_context(prev: TokenId) -> bool {
    is_binary_operator(prev) || matches!(prev, T_LEFT_PAREN | T_COMMA | T_BOOL)
}

/// The token index of `name` called as a function (`name(`).
fn call_name(query: &str, toks: &[Tok], name: &str) -> Option<usize> {
    (0..toks.len().saturating_sub(1))
        .find(|&i| text(query, &toks[i]) == name && toks[i + 1].id == T_LEFT_PAREN)
}

/// The top-level arguments (token index ranges) of the call whose `(` is at
/// `open`.
fn arguments(toks: &[Tok], open: usize) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut arg_start = open + 1;
    for (i, t) in toks.iter().enumerate().skip(open) {
        match t.id {
            T_LEFT_PAREN | T_LEFT_BRACE | T_LEFT_BRACKET => depth += 1,
            T_RIGHT_PAREN | T_RIGHT_BRACE | T_RIGHT_BRACKET => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    if i > arg_start {
                        out.push((arg_start, i));
                    }
                    return out;
                }
            }
            T_COMMA if depth == 1 => {
                out.push((arg_start, i));
                arg_start = i + 1;
            }
            _ => {}
        }
    }
    out
}

fn type_word(t: ValueType) -> &'static str {
    match t {
        ValueType::Vector => "vector",
        ValueType::Matrix => "matrix",
        ValueType::Scalar => "scalar",
        ValueType::String => "string",
    }
}

/// The start of the first argument of the call at `open` whose type is
/// `got` (promql-parser's type word).
fn argument_of_type(query: &str, toks: &[Tok], open: usize, got: &str) -> Option<usize> {
    arguments(toks, open).into_iter().find_map(|(a, b)| {
        let src = &query[toks[a].start..toks[b - 1].end];
        let expr = parse_guarded(src).ok()?;
        (type_word(expr.value_type()) == got.trim()).then_some(toks[a].start)
    })
}

/// The parameter of `topk`, `quantile`, `count_values`, … whose type is
/// `got`.
fn aggregation_parameter(query: &str, toks: &[Tok], got: &str) -> Option<usize> {
    let with_param = [
        T_TOPK,
        T_BOTTOMK,
        T_QUANTILE,
        T_COUNT_VALUES,
        T_LIMITK,
        T_LIMIT_RATIO,
    ];
    for (i, t) in toks.iter().enumerate() {
        if !with_param.contains(&t.id) {
            continue;
        }
        let mut open = i + 1;
        // `topk by (x) (...)`: skip the grouping.
        if toks.get(open).is_some_and(|t| matches!(t.id, T_BY | T_WITHOUT)) {
            let close = matching_close(toks, open + 1)?;
            open = close + 1;
        }
        if toks.get(open).is_none_or(|t| t.id != T_LEFT_PAREN) {
            continue;
        }
        if let Some((a, b)) = arguments(toks, open).first().copied() {
            let src = &query[toks[a].start..toks[b - 1].end];
            if parse_guarded(src).is_ok_and(|e| type_word(e.value_type()) == got.trim()) {
                return Some(toks[a].start);
            }
        }
    }
    None
}

fn matching_close(toks: &[Tok], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, t) in toks.iter().enumerate().skip(open) {
        match t.id {
            T_LEFT_PAREN | T_LEFT_BRACE | T_LEFT_BRACKET => depth += 1,
            T_RIGHT_PAREN | T_RIGHT_BRACE | T_RIGHT_BRACKET => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The start of the selector a modifier at token `i` belongs to: back over
/// `[...]`, `{...}` and earlier modifiers to the metric name or `{`.
fn selector_start(toks: &[Tok], i: usize) -> usize {
    let mut j = i;
    let mut depth = 0usize;
    while j > 0 {
        j -= 1;
        match toks[j].id {
            T_RIGHT_BRACKET | T_RIGHT_BRACE | T_RIGHT_PAREN => depth += 1,
            T_LEFT_BRACKET | T_LEFT_PAREN => depth = depth.saturating_sub(1),
            T_LEFT_BRACE => {
                depth = depth.saturating_sub(1);
                if depth == 0 && (j == 0 || !matches!(toks[j - 1].id, T_IDENTIFIER | T_METRIC_IDENTIFIER)) {
                    return toks[j].start;
                }
            }
            T_IDENTIFIER | T_METRIC_IDENTIFIER if depth == 0 => return toks[j].start,
            _ => {}
        }
    }
    toks.first().map_or(0, |t| t.start)
}

/// The label name of the `=~`/`!~` matcher whose pattern is `re`.
fn regex_matcher(query: &str, toks: &[Tok], re: &str) -> Option<usize> {
    toks.windows(3)
        .find(|w| {
            matches!(w[1].id, T_EQL_REGEX | T_NEQ_REGEX)
                && w[2].id == T_STRING
                && text(query, &w[2]).get(1..text(query, &w[2]).len().saturating_sub(1)) == Some(re)
        })
        .map(|w| w[0].start)
}

// ------------------------------------------------------------ wording

/// promql-parser's wording → Prometheus's, for the messages users meet.
fn reword(msg: &str) -> String {
    if msg == "unexpected end of input inside brackets" {
        return "unclosed left bracket".into();
    }
    if let Some(bad) = msg.strip_prefix("bad number or duration syntax: ") {
        return format!("bad number or duration syntax: {:?}", bad.trim_end_matches(']'));
    }
    if let Some(re) = msg.strip_prefix("illegal regex for ") {
        let why = compile_go_regex_anchored(re)
            .err()
            .map(|e| e.to_string())
            .and_then(|e| {
                e.lines()
                    .last()
                    .map(|l| l.trim_start_matches("error: ").to_string())
            })
            .unwrap_or_else(|| "invalid".into());
        return format!("error parsing regexp {re:?}: {why}");
    }
    let mut out = msg
        .replace("in aggregation expression", "in aggregation parameter")
        .replace("got: ", "got ");
    for (from, to) in [
        ("type matrix", "type range vector"),
        ("type vector", "type instant vector"),
    ] {
        out = out.replace(from, to);
    }
    for (from, to) in [
        ("got matrix", "got range vector"),
        ("got vector", "got instant vector"),
    ] {
        if out.ends_with(from) {
            out = format!("{}{to}", &out[..out.len() - from.len()]);
        }
    }
    // 'name' → "name", as Go's %q quotes.
    for prefix in [
        "function with name '",
        "call to function '",
        "call to '",
        "set operator '",
    ] {
        if let Some(p) = out.find(prefix) {
            let open = p + prefix.len() - 1;
            if let Some(close) = out[open + 1..].find('\'') {
                let close = open + 1 + close;
                out.replace_range(close..=close, "\"");
                out.replace_range(open..=open, "\"");
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(q: &str) -> String {
        match parse(q) {
            Ok(e) => panic!("{q:?} parsed: {e}"),
            Err(e) => {
                assert_eq!(e.error_type(), "bad_data", "{q}");
                e.to_string()
            }
        }
    }

    /// Go's syntax that promql-parser refuses still parses (rewritten), and a
    /// regex Go refuses is a parse error naming it.
    #[test]
    fn regexes_read_gos_syntax() {
        for (q, text) in [
            (r#"up{h=~"\\Q{x}\\E"}"#, "{x}"),
            (r#"up{h=~"[[]{x}"}"#, "[{x}"),
            (r#"up{h=~"/c/{id}"}"#, "/c/{id}"),
        ] {
            let Ok(Expr::VectorSelector(vs)) = parse(q) else {
                panic!("{q} does not parse")
            };
            let m = &vs.matchers.matchers[0];
            let matcher =
                crate::model::Matcher::new(crate::model::MatchOp::Regex, "h", m.value.clone()).unwrap();
            assert!(matcher.matches(text), "{q}: {}", m.value);
        }
        let e = err(r#"up{h=~"(x"}"#);
        assert!(
            e.starts_with("1:4: parse error: error parsing regexp \"(x\": "),
            "{e}"
        );
    }

    /// Positions as Prometheus reports them (checked against 2.42).
    #[test]
    fn errors_carry_prometheus_positions() {
        let cases = [
            ("sum(", "1:5: parse error: unclosed left parenthesis"),
            ("foo{", "1:5: parse error: unexpected end of input inside braces"),
            (
                "foo{bar=\"baz\"",
                "1:14: parse error: unexpected end of input inside braces",
            ),
            ("foo[5m", "1:7: parse error: unclosed left bracket"),
            ("1 +", "1:4: parse error: unexpected end of input"),
            ("sum(foo) by", "1:12: parse error: unexpected end of input"),
            ("up == bool up and", "1:18: parse error: unexpected end of input"),
            (")", "1:1: parse error: unexpected right parenthesis ')'"),
            ("foo}", "1:4: parse error: unexpected right brace '}'"),
            (
                "up[-5m]",
                "1:4: parse error: unexpected character inside brackets: '-'",
            ),
            (
                "rate(foo)",
                "1:6: parse error: expected type range vector in call to function \"rate\", got instant vector",
            ),
            (
                "rate(foo[5m], 1)",
                "1:1: parse error: expected 1 argument(s) in call to \"rate\", got 2",
            ),
            (
                "no_such_function(up)",
                "1:1: parse error: unknown function with name \"no_such_function\"",
            ),
            (
                "abs(\"x\")",
                "1:5: parse error: expected type instant vector in call to function \"abs\", got string",
            ),
            (
                "histogram_quantile(\"a\", foo)",
                "1:20: parse error: expected type scalar in call to function \"histogram_quantile\", got string",
            ),
            (
                "label_replace(up, 1, \"\", \"\", \"\")",
                "1:19: parse error: expected type string in call to function \"label_replace\", got scalar",
            ),
            (
                "topk(foo, bar)",
                "1:6: parse error: expected type scalar in aggregation parameter, got instant vector",
            ),
            (
                "count_values(1, up)",
                "1:14: parse error: expected type string in aggregation parameter, got scalar",
            ),
            (
                "rate(up[5m:1m] [1m])",
                "1:16: parse error: ranges only allowed for vector selectors",
            ),
            (
                "foo[5m] [5m]",
                "1:9: parse error: ranges only allowed for vector selectors",
            ),
            (
                "1 + \"a\"",
                "1:5: parse error: binary expression must contain only scalar and instant vector types",
            ),
            ("up[0s]", "1:4: parse error: duration must be greater than 0"),
            ("foo[5m:0s]", "1:8: parse error: duration must be greater than 0"),
            (
                "{}",
                "1:1: parse error: vector selector must contain at least one non-empty matcher",
            ),
            (
                "{x=\"\"}",
                "1:1: parse error: vector selector must contain at least one non-empty matcher",
            ),
            (
                "up @ start() @ end()",
                "1:1: parse error: @ <timestamp> may not be set multiple times",
            ),
            (
                "up offset 1m offset 2m",
                "1:1: parse error: offset may not be set multiple times",
            ),
            ("foo[9999999999999y]", "1:5: parse error: duration out of range"),
            ("foo[1000y:1ms]", "1:5: parse error: duration out of range"),
            (
                "foo offset 99999999999999999y",
                "1:12: parse error: duration out of range",
            ),
            ("\"abc", "1:1: parse error: unterminated quoted string \""),
            ("foo{a=\"b", "1:7: parse error: unterminated quoted string \""),
            ("foo @ bar", "1:7: parse error: unexpected identifier \"bar\""),
            (
                "sum by (foo) (up) without (bar)",
                "1:19: parse error: unexpected <without>",
            ),
            (
                "foo[5x]",
                "1:5: parse error: bad number or duration syntax: \"5x\"",
            ),
        ];
        for (q, want) in cases {
            assert_eq!(err(q), want, "query {q:?}");
        }
    }

    /// Inputs that made promql-parser panic or silently change meaning.
    #[test]
    fn huge_numbers_are_errors_not_panics() {
        for q in [
            "foo[1e300]",
            "foo offset 1e300",
            "foo[5m:1e300]",
            "foo[5m] offset -1e300",
            "foo[4294967296s]",
            "foo[1y4294967296s]",
        ] {
            assert!(err(q).contains("duration out of range"), "{q}: {}", err(q));
        }
        assert!(
            err("foo @ 1e300").starts_with("1:1: parse error: timestamp out of bounds for @ modifier: 1")
        );
        assert!(err("foo @ 1e17").contains("timestamp out of bounds"));
        assert!(parse("foo @ 1e15").is_ok());
        assert!(parse("foo[5]").is_ok());
        assert!(parse("foo offset -5m").is_ok());
    }

    #[test]
    fn positions_count_lines() {
        assert_eq!(err("sum(\n  rate(foo)\n)"), err_at(2, 8, "sum(\n  rate(foo)\n)"));
    }

    fn err_at(line: usize, col: usize, q: &str) -> String {
        let msg = err(q);
        let rest = msg.split_once(": parse error").map(|(_, r)| r).unwrap_or("");
        format!("{line}:{col}: parse error{rest}")
    }

    #[test]
    fn valid_queries_still_parse() {
        for q in [
            "sum by (job) (rate(http_requests_total{code=~\"5..\"}[5m]))",
            "histogram_quantile(0.9, sum by (le) (rate(x_bucket[5m])))",
            "foo @ start() offset -1m",
            "max_over_time(deriv(x[5m])[30m:1m])",
            "topk by (a) (3, x)",
        ] {
            assert!(parse(q).is_ok(), "{q}");
        }
    }

    proptest::proptest! {
        /// Whatever the input, parsing ends in a value or an error, and an
        /// error names a position inside (or just past) the query.
        #[test]
        fn never_panics(q in "[a-z(){}\\[\\]\"=~!,:@ 0-9.+*/^-]{0,40}") {
            if let Err(e) = parse(&q) {
                let msg = e.to_string();
                let (pos, _) = msg.split_once(": parse error: ").expect("positioned");
                let (line, col) = pos.split_once(':').expect("line:col");
                let line: usize = line.parse().unwrap();
                let col: usize = col.parse().unwrap();
                proptest::prop_assert!(line >= 1 && col >= 1 && col <= q.len() + 1, "{}", msg);
            }
        }
    }
}
