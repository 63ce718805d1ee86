//! Prometheus's own PromQL test corpus (`../shared/conformance/promqltest/`)
//! run through our engine: load/clear/eval blocks as `SPEC.md` describes,
//! compared by its rules. Prints pass counts per file and the core total;
//! fails when a core eval (see `evals.jsonl`) fails and is not on `SKIP`.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use belfry::model::{Label, Labels, STALE_NAN, compile_go_regex, is_stale_nan};
use belfry::promql::{Engine, EngineOptions, QueryControl, QueryOutput, Value};
use belfry::selfmetrics::Registry;
use belfry::tsdb::{MemStorage, Storage};
use regex::Regex;

use crate::support;

/// Core evals we knowingly fail: (file, line of the `eval` header, why).
const SKIP: &[(&str, usize, &str)] = &[];

// ---------------------------------------------------------------------------
// The `.test` notation.

/// A Prometheus duration (`1m30s`) in milliseconds, via the crate's one
/// duration parser.
fn parse_duration(s: &str) -> Result<i64, String> {
    belfry::model::PromDuration::parse(s.trim())
        .map(|d| d.as_duration().as_millis() as i64)
        .map_err(|e| e.to_string())
}

#[derive(Clone, Copy, Debug)]
enum Item {
    Float(f64),
    /// A native histogram: our storage is float-only, so these are dropped
    /// on load and make an expectation unmeetable.
    Histogram,
    Missing,
}

fn parse_float(s: &str) -> Option<f64> {
    let l = s.to_ascii_lowercase();
    let (sign, body) = match l.strip_prefix('-') {
        Some(b) => (-1.0, b),
        None => (1.0, l.strip_prefix('+').unwrap_or(&l)),
    };
    match body {
        "inf" => return Some(sign * f64::INFINITY),
        "nan" => return Some(f64::NAN),
        _ => {}
    }
    if body.starts_with("0x") {
        return None;
    }
    s.parse::<f64>().ok()
}

/// Splits `name{a="b"} rest` into its labels and the rest of the line.
fn parse_series_desc(line: &str) -> Result<(Labels, &str), String> {
    let line = line.trim();
    let bytes = line.as_bytes();
    let mut i = 0;
    let mut labels = Vec::new();
    while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b':') {
        i += 1;
    }
    if i > 0 {
        labels.push(Label::new("__name__", &line[..i]));
    }
    if i < bytes.len() && bytes[i] == b'{' {
        let close = find_close_brace(line, i).ok_or_else(|| format!("unclosed '{{' in {line:?}"))?;
        let inner = &line[i..=close];
        let sel = if labels.is_empty() {
            inner.to_string()
        } else {
            format!("{}{}", &line[..i], inner)
        };
        labels.clear();
        i = close + 1;
        if inner[1..inner.len() - 1].trim().is_empty() && sel == inner {
            return Ok((Labels::default(), line[i..].trim()));
        }
        match promql_parser::parser::parse(&sel).map_err(|e| format!("{sel}: {e}"))? {
            promql_parser::parser::Expr::VectorSelector(vs) => {
                if let Some(n) = vs.name {
                    labels.push(Label::new("__name__", n));
                }
                for m in vs.matchers.matchers {
                    labels.push(Label::new(m.name, m.value));
                }
            }
            other => return Err(format!("not a series: {other}")),
        }
    }
    if labels.is_empty() {
        return Err(format!("no series in {line:?}"));
    }
    Ok((Labels::new(labels), line[i..].trim()))
}

fn find_close_brace(s: &str, open: usize) -> Option<usize> {
    let b = s.as_bytes();
    let mut i = open + 1;
    let mut quote: Option<u8> = None;
    while i < b.len() {
        match quote {
            Some(q) => {
                if b[i] == b'\\' {
                    i += 1;
                } else if b[i] == q {
                    quote = None;
                }
            }
            None => match b[i] {
                b'"' | b'\'' | b'`' => quote = Some(b[i]),
                b'}' => return Some(i),
                _ => {}
            },
        }
        i += 1;
    }
    None
}

/// Splits the value part on whitespace, keeping `{{ … }}` together.
fn value_tokens(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut depth = 0;
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if s[i..].starts_with("{{") {
            depth += 1;
            cur.push_str("{{");
            i += 2;
            continue;
        }
        if depth > 0 && s[i..].starts_with("}}") {
            depth -= 1;
            cur.push_str("}}");
            i += 2;
            continue;
        }
        let c = b[i] as char;
        if c.is_whitespace() && depth == 0 {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
        } else {
            cur.push(c);
        }
        i += 1;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn parse_values(s: &str) -> Result<Vec<Item>, String> {
    let mut out = Vec::new();
    for tok in value_tokens(s) {
        if tok.starts_with("{{") {
            let times = match tok.rfind("}}x") {
                Some(p) => {
                    tok[p + 3..]
                        .parse::<usize>()
                        .map_err(|_| format!("bad repeat {tok}"))?
                        + 1
                }
                None => 1,
            };
            out.extend(std::iter::repeat_n(Item::Histogram, times));
            continue;
        }
        if tok == "_" {
            out.push(Item::Missing);
            continue;
        }
        if tok == "stale" {
            out.push(Item::Float(STALE_NAN));
            continue;
        }
        if let Some(k) = tok.strip_prefix("_x") {
            let k: usize = k.parse().map_err(|_| format!("bad {tok}"))?;
            out.extend(std::iter::repeat_n(Item::Missing, k));
            continue;
        }
        if let Some(x) = tok.rfind('x') {
            let k: usize = tok[x + 1..].parse().map_err(|_| format!("bad repeat in {tok}"))?;
            let body = &tok[..x];
            // `A+B` / `A-B`: the operator is the first sign after position 0
            // that does not follow an exponent marker.
            let bb = body.as_bytes();
            let mut op_at = None;
            for j in 1..bb.len() {
                if (bb[j] == b'+' || bb[j] == b'-') && !matches!(bb[j - 1], b'e' | b'E') {
                    op_at = Some(j);
                    break;
                }
            }
            match op_at {
                None => {
                    let a = parse_float(body).ok_or_else(|| format!("bad number {body}"))?;
                    out.extend(std::iter::repeat_n(Item::Float(a), k + 1));
                }
                Some(j) => {
                    let a = parse_float(&body[..j]).ok_or_else(|| format!("bad number in {tok}"))?;
                    let d = parse_float(&body[j + 1..]).ok_or_else(|| format!("bad number in {tok}"))?;
                    let d = if bb[j] == b'-' { -d } else { d };
                    let mut v = a;
                    out.push(Item::Float(v));
                    for _ in 0..k {
                        v += d;
                        out.push(Item::Float(v));
                    }
                }
            }
            continue;
        }
        out.push(Item::Float(
            parse_float(&tok).ok_or_else(|| format!("bad value {tok:?}"))?,
        ));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------
// Evals.

#[derive(Debug)]
enum Expect {
    Fail(Option<Matcher2>),
    Warn(Option<Matcher2>),
    Info(Option<Matcher2>),
    NoWarn,
    NoInfo,
    Ordered,
    Str(String),
    RangeVector { from: i64, step: i64 },
}

#[derive(Debug)]
enum Matcher2 {
    Msg(String),
    Re(Regex),
}

impl Matcher2 {
    fn matches(&self, s: &str) -> bool {
        match self {
            Matcher2::Msg(m) => m.trim() == s.trim(),
            Matcher2::Re(r) => r.is_match(s),
        }
    }
}

struct Eval {
    line: usize,
    range: Option<(i64, i64, i64)>,
    at: i64,
    expr: String,
    expects: Vec<Expect>,
    /// Legacy `eval_warn`/`eval_info` headers: at least one, unmatched allowed.
    legacy_loose: bool,
    scalar: Option<f64>,
    series: Vec<(Labels, Vec<Item>)>,
}

fn parse_match(rest: &str) -> Result<Option<Matcher2>, String> {
    let rest = rest.trim();
    if rest.is_empty() {
        return Ok(None);
    }
    if let Some(m) = rest.strip_prefix("msg:") {
        return Ok(Some(Matcher2::Msg(m.trim().to_string())));
    }
    if let Some(r) = rest.strip_prefix("regex:") {
        return Ok(Some(Matcher2::Re(
            compile_go_regex(r.trim()).map_err(|e| e.to_string())?,
        )));
    }
    Err(format!("bad expect tail {rest:?}"))
}

fn parse_expect(line: &str) -> Result<Expect, String> {
    let rest = line.trim_start_matches("expect").trim();
    let (word, tail) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    Ok(match word {
        "fail" => Expect::Fail(parse_match(tail)?),
        "warn" => Expect::Warn(parse_match(tail)?),
        "info" => Expect::Info(parse_match(tail)?),
        "no_warn" => Expect::NoWarn,
        "no_info" => Expect::NoInfo,
        "ordered" => Expect::Ordered,
        "string" => {
            let t = tail.trim();
            let s = if t.starts_with('`') {
                t.trim_matches('`').to_string()
            } else {
                serde_json::from_str::<String>(t).map_err(|e| format!("bad string {t}: {e}"))?
            };
            Expect::Str(s)
        }
        "range" => {
            let re = Regex::new(r"^vector\s+from\s+(\S+)\s+to\s+(\S+)\s+step\s+(\S+)$").unwrap();
            let c = re
                .captures(tail.trim())
                .ok_or_else(|| format!("bad range vector line {line}"))?;
            Expect::RangeVector {
                from: parse_duration(&c[1])?,
                step: parse_duration(&c[3])?,
            }
        }
        _ => return Err(format!("unknown expect line {line:?}")),
    })
}

struct Outcome {
    passed: bool,
    message: String,
}

fn parse_go_number(s: &str) -> Option<f64> {
    if let Some(h) = s.strip_prefix("0x") {
        return i64::from_str_radix(h, 16).ok().map(|v| v as f64);
    }
    parse_float(s)
}

fn almost_equal(a: f64, b: f64) -> bool {
    const MIN_NORMAL: f64 = 2.2250738585072014e-308;
    if is_stale_nan(a) || is_stale_nan(b) {
        return is_stale_nan(a) && is_stale_nan(b);
    }
    if a.is_nan() && b.is_nan() {
        return true;
    }
    if a == b {
        return true;
    }
    let diff = (a - b).abs();
    if a == 0.0 || b == 0.0 || a.abs() + b.abs() < MIN_NORMAL {
        return diff < 1e-6 * MIN_NORMAL;
    }
    diff / (a.abs() + b.abs()).min(f64::MAX) < 1e-6
}

fn check_annotations(e: &Eval, out: &QueryOutput) -> Result<(), String> {
    let kinds: [(&[String], bool); 2] = [(&out.annotations.warnings, true), (&out.annotations.infos, false)];
    for (actual, is_warn) in kinds {
        let mut wanted = Vec::new();
        let mut none = false;
        let mut any = false;
        for x in &e.expects {
            match (x, is_warn) {
                (Expect::Warn(m), true) | (Expect::Info(m), false) => {
                    any = true;
                    if let Some(m) = m {
                        wanted.push(m);
                    }
                }
                (Expect::NoWarn, true) | (Expect::NoInfo, false) => none = true,
                _ => {}
            }
        }
        let kind = if is_warn { "warning" } else { "info" };
        if none && !actual.is_empty() {
            return Err(format!("unexpected {kind}s: {actual:?}"));
        }
        if any {
            if actual.is_empty() {
                return Err(format!("expected a {kind}, got none"));
            }
            for w in &wanted {
                if !actual.iter().any(|a| w.matches(a)) {
                    return Err(format!("no {kind} matches {w:?}; got {actual:?}"));
                }
            }
            if !wanted.is_empty() && !e.legacy_loose {
                for a in actual.iter() {
                    if !wanted.iter().any(|w| w.matches(a)) {
                        return Err(format!("unexpected {kind} {a:?}"));
                    }
                }
            }
        }
    }
    Ok(())
}

fn expected_points(e: &Eval, items: &[Item], from: i64, step: i64) -> Result<Vec<(i64, f64)>, String> {
    let mut pts = Vec::new();
    for (i, it) in items.iter().enumerate() {
        match it {
            Item::Float(v) => pts.push((from + i as i64 * step, *v)),
            Item::Missing => {}
            Item::Histogram => return Err(format!("line {}: expects a native histogram", e.line)),
        }
    }
    Ok(pts)
}

fn compare_matrix(e: &Eval, got: &[belfry::promql::Series], from: i64, step: i64) -> Result<(), String> {
    for w in got.windows(2) {
        if w[0].labels >= w[1].labels {
            return Err(format!(
                "matrix not sorted by labels: {} before {}",
                w[0].labels, w[1].labels
            ));
        }
    }
    let mut want: HashMap<&Labels, Vec<(i64, f64)>> = HashMap::new();
    for (l, items) in &e.series {
        let pts = expected_points(e, items, from, step)?;
        want.insert(l, pts);
    }
    let got_map: HashMap<&Labels, &belfry::promql::Series> = got.iter().map(|s| (&s.labels, s)).collect();
    for (l, pts) in &want {
        if pts.is_empty() {
            if got_map.get(l).is_some_and(|s| !s.points.is_empty()) {
                return Err(format!("series {l} should have no points"));
            }
            continue;
        }
        let Some(s) = got_map.get(l) else {
            return Err(format!("missing series {l}; got {}", summary_matrix(got)));
        };
        if s.points.len() != pts.len() {
            return Err(format!("series {l}: want {pts:?}, got {:?}", s.points));
        }
        for (a, b) in s.points.iter().zip(pts) {
            if a.0 != b.0 || !almost_equal(b.1, a.1) {
                return Err(format!("series {l}: want {pts:?}, got {:?}", s.points));
            }
        }
    }
    for s in got {
        if !want.contains_key(&s.labels) && !s.points.is_empty() {
            return Err(format!("unexpected series {} {:?}", s.labels, s.points));
        }
    }
    Ok(())
}

fn summary_matrix(got: &[belfry::promql::Series]) -> String {
    got.iter()
        .map(|s| format!("{} {:?}", s.labels, s.points))
        .collect::<Vec<_>>()
        .join("; ")
}

fn check_result(e: &Eval, out: &QueryOutput) -> Result<(), String> {
    check_annotations(e, out)?;
    let ordered = e.expects.iter().any(|x| matches!(x, Expect::Ordered));
    if let Some(s) = e.expects.iter().find_map(|x| match x {
        Expect::Str(s) => Some(s),
        _ => None,
    }) {
        return match &out.value {
            Value::String(got) if got == s => Ok(()),
            other => Err(format!("want string {s:?}, got {other:?}")),
        };
    }
    if let Some(want) = e.scalar {
        return match &out.value {
            Value::Scalar(v) if almost_equal(want, *v) => Ok(()),
            Value::Matrix(m)
                if e.range.is_some()
                    && m.len() == 1
                    && m[0].points.iter().all(|p| almost_equal(want, p.1)) =>
            {
                Ok(())
            }
            other => Err(format!("want scalar {want}, got {other:?}")),
        };
    }
    if let Some((from, step)) = e.expects.iter().find_map(|x| match x {
        Expect::RangeVector { from, step } => Some((*from, *step)),
        _ => None,
    }) {
        return match &out.value {
            Value::Matrix(m) => compare_matrix(e, m, from, step),
            other => Err(format!("want a range vector, got {other:?}")),
        };
    }
    if let Some((from, _to, step)) = e.range {
        return match &out.value {
            Value::Matrix(m) => compare_matrix(e, m, from, step),
            other => Err(format!("want a matrix, got {other:?}")),
        };
    }
    let Value::Vector(got) = &out.value else {
        if e.series.is_empty() && matches!(&out.value, Value::Matrix(m) if m.is_empty()) {
            return Ok(());
        }
        return Err(format!("want a vector, got {:?}", out.value));
    };
    let mut want = Vec::new();
    for (l, items) in &e.series {
        if items.len() != 1 {
            return Err(format!("instant expectation for {l} has {} values", items.len()));
        }
        match items[0] {
            Item::Float(v) => want.push((l, v)),
            Item::Histogram => return Err("expects a native histogram".into()),
            Item::Missing => return Err("instant expectation '_'".into()),
        }
    }
    if got.len() != want.len() {
        return Err(format!(
            "want {} series, got {}: {}",
            want.len(),
            got.len(),
            got.iter()
                .map(|s| format!("{} {}", s.labels, s.v))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    let seen: HashSet<&Labels> = got.iter().map(|s| &s.labels).collect();
    if seen.len() != got.len() {
        return Err("result has duplicate series".into());
    }
    for (i, (l, v)) in want.iter().enumerate() {
        let Some(pos) = got.iter().position(|s| &s.labels == *l) else {
            return Err(format!(
                "missing {l}; got {}",
                got.iter()
                    .map(|s| format!("{} {}", s.labels, s.v))
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        };
        if ordered && pos != i {
            return Err(format!("{l} at position {pos}, want {i}"));
        }
        if !almost_equal(*v, got[pos].v) {
            return Err(format!("{l}: want {v}, got {}", got[pos].v));
        }
    }
    Ok(())
}

fn run_eval(engine: &Engine, storage: &MemStorage, e: &Eval) -> Outcome {
    let querier = storage.querier();
    let querier = querier.as_ref();
    let ctl = QueryControl::default();
    let at = e
        .expects
        .iter()
        .find_map(|x| match x {
            Expect::RangeVector { .. } => Some(()),
            _ => None,
        })
        .map(|_| e.at)
        .unwrap_or(e.at);
    let result = match e.range {
        Some((from, to, step)) => engine.range_query(querier, &e.expr, from, to, step, &ctl),
        None => engine.instant_query(querier, &e.expr, at, &ctl),
    };
    let fail = e.expects.iter().find_map(|x| match x {
        Expect::Fail(m) => Some(m),
        _ => None,
    });
    let verdict = match (result, fail) {
        (Err(err), Some(m)) => match m {
            Some(m) if !m.matches(&err.to_string()) => {
                Err(format!("error {:?} does not match {m:?}", err.to_string()))
            }
            _ => Ok(()),
        },
        (Ok(out), Some(_)) => Err(format!("expected failure, got {:?}", out.value)),
        (Err(err), None) => Err(format!("error: {err}")),
        (Ok(out), None) => check_result(e, &out),
    };
    match verdict {
        Ok(()) => Outcome {
            passed: true,
            message: String::new(),
        },
        Err(message) => Outcome {
            passed: false,
            message,
        },
    }
}

fn parse_eval_header(line: &str, lineno: usize) -> Result<Eval, String> {
    let instant =
        Regex::new(r"^eval(?:_(fail|warn|ordered|info))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$").unwrap();
    let range =
        Regex::new(r"^eval(?:_(fail|warn|info))?\s+range\s+from\s+(.+)\s+to\s+(.+)\s+step\s+(.+?)\s+(.+)$")
            .unwrap();
    let mut e = Eval {
        line: lineno,
        range: None,
        at: 0,
        expr: String::new(),
        expects: Vec::new(),
        legacy_loose: false,
        scalar: None,
        series: Vec::new(),
    };
    let modifier;
    if let Some(c) = instant.captures(line) {
        modifier = c.get(1).map(|m| m.as_str().to_string());
        e.at = match c.get(2) {
            Some(a) => parse_duration(a.as_str())?,
            None => 0,
        };
        e.expr = c[3].to_string();
    } else if let Some(c) = range.captures(line) {
        modifier = c.get(1).map(|m| m.as_str().to_string());
        let from = parse_duration(&c[2])?;
        let to = parse_duration(&c[3])?;
        let step = parse_duration(&c[4])?;
        e.range = Some((from, to, step));
        e.expr = c[5].to_string();
    } else {
        return Err(format!("bad eval line {line:?}"));
    }
    match modifier.as_deref() {
        Some("fail") => e.expects.push(Expect::Fail(None)),
        Some("warn") => {
            e.expects.push(Expect::Warn(None));
            e.legacy_loose = true;
        }
        Some("info") => {
            e.expects.push(Expect::Info(None));
            e.legacy_loose = true;
        }
        Some("ordered") => e.expects.push(Expect::Ordered),
        _ => {}
    }
    Ok(e)
}

enum Cmd {
    Clear,
    Load(i64, Vec<(Labels, Vec<Item>)>),
    Eval(Box<Eval>),
}

fn parse_file(text: &str) -> Result<Vec<Cmd>, String> {
    let lines: Vec<String> = text
        .split('\n')
        .map(|l| {
            let t = l.trim();
            if t.starts_with('#') {
                String::new()
            } else {
                t.to_string()
            }
        })
        .collect();
    let load_re = Regex::new(r"^load(?:_(with_nhcb))?\s+(.+?)$").unwrap();
    let mut cmds = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = &lines[i];
        if line.is_empty() {
            i += 1;
            continue;
        }
        let lower = line.to_ascii_lowercase();
        let first = lower.split_whitespace().next().unwrap_or("");
        let header_no = i + 1;
        let mut body = Vec::new();
        i += 1;
        // `clear` has no body: the next line is a command of its own.
        while first != "clear" && i < lines.len() && !lines[i].is_empty() {
            body.push(lines[i].clone());
            i += 1;
        }
        if first == "clear" {
            cmds.push(Cmd::Clear);
        } else if first.starts_with("load") {
            let c = load_re
                .captures(line)
                .ok_or_else(|| format!("line {header_no}: bad load"))?;
            let gap = parse_duration(&c[2])?;
            let mut series = Vec::new();
            for b in &body {
                if b.contains("@st ") {
                    continue;
                }
                let (l, rest) = parse_series_desc(b).map_err(|e| format!("line {header_no}: {e}"))?;
                series.push((
                    l,
                    parse_values(rest).map_err(|e| format!("line {header_no}: {e}"))?,
                ));
            }
            cmds.push(Cmd::Load(gap, series));
        } else if first.starts_with("eval") {
            let mut e = parse_eval_header(line, header_no)?;
            for b in &body {
                let word = b.split_whitespace().next().unwrap_or("");
                if word == "expect" {
                    e.expects
                        .push(parse_expect(b).map_err(|x| format!("line {header_no}: {x}"))?);
                    continue;
                }
                if let Some(rest) = b.strip_prefix("expected_fail_message") {
                    e.expects
                        .push(Expect::Fail(Some(Matcher2::Msg(rest.trim().into()))));
                    continue;
                }
                if let Some(rest) = b.strip_prefix("expected_fail_regexp") {
                    e.expects.push(Expect::Fail(Some(Matcher2::Re(
                        compile_go_regex(rest.trim()).map_err(|x| x.to_string())?,
                    ))));
                    continue;
                }
                if let Some(v) = parse_go_number(b) {
                    e.scalar = Some(v);
                    break;
                }
                let (l, rest) = parse_series_desc(b).map_err(|x| format!("line {header_no}: {x}"))?;
                e.series.push((l, parse_values(rest)?));
            }
            cmds.push(Cmd::Eval(Box::new(e)));
        } else {
            return Err(format!("line {header_no}: unknown command {line:?}"));
        }
    }
    Ok(cmds)
}

/// Loads a block through `backfill`: the corpus starts at time 0 and later
/// blocks may go back in time, which the head's order and age rules refuse.
/// A series defined twice in one block takes its later definition, as in
/// Prometheus's `load` (`aggregators.test` relies on it); across blocks,
/// samples colliding with stored ones are skipped, and their count returned.
fn load(storage: &MemStorage, gap: i64, series: Vec<(Labels, Vec<Item>)>) -> usize {
    let mut defs = std::collections::BTreeMap::new();
    for (labels, items) in series {
        let samples: Vec<(i64, f64)> = items
            .iter()
            .enumerate()
            .filter_map(|(i, it)| match it {
                Item::Float(v) => Some((i as i64 * gap, *v)),
                _ => None,
            })
            .collect();
        defs.insert(labels, samples);
    }
    storage
        .backfill(defs.into_iter().collect())
        .expect("backfill into MemStorage")
        .samples_skipped
}

/// Which evals are "core": none of the feature flags in `evals.jsonl`.
fn core_evals(dir: &Path) -> HashMap<(String, usize), Vec<&'static str>> {
    let text = std::fs::read_to_string(dir.join("evals.jsonl")).expect("reading evals.jsonl");
    let mut out = HashMap::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("evals.jsonl line");
        let mut why = Vec::new();
        let flag = |k: &str| v[k].as_bool().unwrap_or(false);
        if flag("nh_any") {
            why.push("native histograms");
        }
        if v["expfn"].as_array().is_some_and(|a| !a.is_empty()) {
            why.push("experimental functions");
        }
        if flag("durexpr") {
            why.push("duration expressions");
        }
        if flag("extrange") {
            why.push("anchored/smoothed");
        }
        if flag("fill") {
            why.push("fill modifiers");
        }
        if flag("st") {
            why.push("start timestamps");
        }
        let file = v["file"].as_str().unwrap().to_string();
        let line = v["line"].as_u64().unwrap() as usize;
        out.insert((file, line), why);
    }
    out
}

#[test]
fn promqltest_corpus() {
    let Some(dir) = support::shared_conformance_dir() else {
        return;
    };
    let flags = core_evals(&dir);
    let skip: HashMap<(&str, usize), &str> = SKIP.iter().map(|(f, l, r)| ((*f, *l), *r)).collect();
    let engine = Engine::new(EngineOptions::for_tests(), &Registry::new());
    let mut files: Vec<_> = std::fs::read_dir(dir.join("promqltest"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    let verbose = std::env::var_os("PROMQL_VERBOSE").is_some();
    let only = std::env::var("PROMQL_FILE").ok();
    let (mut core_total, mut core_pass) = (0, 0);
    let mut unexpected = Vec::new();
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if only.as_ref().is_some_and(|o| !name.contains(o.as_str())) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let cmds = match parse_file(&text) {
            Ok(c) => c,
            Err(e) => panic!("{name}: {e}"),
        };
        let mut storage = MemStorage::new();
        let mut collisions = 0;
        let (mut all, mut pass, mut core, mut cpass, mut skipped) = (0, 0, 0, 0, 0);
        for cmd in cmds {
            match cmd {
                Cmd::Clear => storage = MemStorage::new(),
                Cmd::Load(gap, series) => collisions += load(&storage, gap, series),
                Cmd::Eval(e) => {
                    all += 1;
                    let why = flags.get(&(name.clone(), e.line)).cloned().unwrap_or_default();
                    let is_core = why.is_empty();
                    let o = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        run_eval(&engine, &storage, &e)
                    }))
                    .unwrap_or_else(|_| Outcome {
                        passed: false,
                        message: "panicked".into(),
                    });
                    if o.passed {
                        pass += 1;
                    }
                    if !is_core {
                        skipped += 1;
                        continue;
                    }
                    core += 1;
                    if o.passed {
                        cpass += 1;
                    } else if let Some(reason) = skip.get(&(name.as_str(), e.line)) {
                        if verbose {
                            eprintln!("{name}:{} skipped ({reason}): {}", e.line, o.message);
                        }
                    } else {
                        unexpected.push(format!("{name}:{} `{}`: {}", e.line, e.expr, o.message));
                    }
                }
            }
        }
        println!(
            "{name}: {pass}/{all} pass; core {cpass}/{core}; {skipped} non-core (native histograms, experimental functions, duration expressions, anchored/smoothed, fill modifiers, start timestamps)"
        );
        if collisions > 0 {
            println!("{name}: {collisions} loaded samples collided with an earlier block's and were skipped");
        }
        core_total += core;
        core_pass += cpass;
    }
    println!("core total: {core_pass}/{core_total} pass");
    for u in &unexpected {
        println!("FAIL {u}");
    }
    assert!(
        unexpected.is_empty(),
        "{} core evals failed (see FAIL lines above)",
        unexpected.len()
    );
}
