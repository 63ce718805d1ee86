//! The functions a template may call: Go's builtins (`and`, `or`, `not`,
//! `len`, `index`, `slice`, `print*`, comparisons, `html`, `js`,
//! `urlquery`) and Prometheus's (`query`, `first`, `label`, `value`,
//! `humanize*`, `title`, `match`, `reReplaceAll`, links, …).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::model::compile_go_regex;

use super::context::Context;
use super::func_error::FuncError;
use super::gofmt::{fmt_g, sprintf, value_v};
use super::gotime::duration_string;
use super::value::{QuerySample, TValue};

/// Every function name a template may use; parsing rejects others.
pub const NAMES: &[&str] = &[
    "and",
    "or",
    "not",
    "len",
    "index",
    "slice",
    "print",
    "printf",
    "println",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "html",
    "js",
    "urlquery",
    "query",
    "first",
    "label",
    "value",
    "strvalue",
    "args",
    "reReplaceAll",
    "safeHtml",
    "match",
    "title",
    "toUpper",
    "toLower",
    "graphLink",
    "tableLink",
    "sortByLabel",
    "humanize",
    "humanize1024",
    "humanizeDuration",
    "humanizePercentage",
    "humanizeTimestamp",
    "toTime",
    "toDuration",
    "pathPrefix",
    "externalURL",
    "parseDuration",
    "stripPort",
    "stripDomain",
    "now",
];

type R = Result<TValue, FuncError>;

fn want(name: &str, args: &[TValue], n: usize) -> Result<(), FuncError> {
    if args.len() != n {
        return Err(FuncError::arity(name, n, args.len()));
    }
    Ok(())
}

/// A regex argument (`match`, `reReplaceAll`): Go's syntax, as in Prometheus.
fn regex_arg(v: &TValue) -> Result<regex::Regex, FuncError> {
    let pattern = string_arg(v)?;
    compile_go_regex(&pattern).map_err(|source| FuncError::Regex { pattern, source })
}

fn string_arg(v: &TValue) -> Result<String, FuncError> {
    match v {
        TValue::Str(s) | TValue::Html(s) => Ok(s.clone()),
        other => Err(FuncError::NotString(value_v(other))),
    }
}

/// Prometheus's `convertToFloat`: numbers, and strings that parse as one.
fn float_arg(v: &TValue) -> Result<f64, FuncError> {
    match v {
        TValue::Float(f) => Ok(*f),
        TValue::Int(i) => Ok(*i as f64),
        TValue::Str(s) => {
            super::strconv::parse_go_float(s).ok_or_else(|| FuncError::NotFloat(format!("{s:?}")))
        }
        other => Err(FuncError::NotFloat(value_v(other))),
    }
}

fn sample_arg(v: &TValue) -> Result<Arc<QuerySample>, FuncError> {
    match v {
        TValue::Sample(s) => Ok(s.clone()),
        other => Err(FuncError::NotSample(value_v(other))),
    }
}

/// Calls one of [`NAMES`].
pub(super) fn call(name: &str, args: Vec<TValue>, ctx: &Context<'_>) -> R {
    match name {
        "not" => {
            want(name, &args, 1)?;
            Ok(TValue::Bool(!args[0].truthy()))
        }
        "len" => {
            want(name, &args, 1)?;
            Ok(TValue::Int(match &args[0] {
                TValue::Str(s) => s.len(),
                TValue::Map(m) => m.len(),
                TValue::List(l) | TValue::Alerts(l) => l.len(),
                TValue::Kv(m) => m.len(),
                TValue::Pairs(p) => p.len(),
                TValue::Html(s) => s.len(),
                other => return Err(FuncError::NoLen(value_v(other))),
            } as i64))
        }
        "index" => {
            let Some((first, keys)) = args.split_first() else {
                return Err(FuncError::NoArgs("index"));
            };
            let mut v = first.clone();
            for k in keys {
                v = match (&v, k) {
                    (TValue::Map(m), TValue::Str(key)) => {
                        m.get(key).cloned().unwrap_or_else(|| TValue::str(""))
                    }
                    (TValue::Kv(m), TValue::Str(key)) => TValue::str(m.get(key).cloned().unwrap_or_default()),
                    (TValue::List(l) | TValue::Alerts(l), TValue::Int(i)) => l
                        .get(usize::try_from(*i).map_err(|_| FuncError::IndexOutOfRange(*i))?)
                        .cloned()
                        .ok_or(FuncError::IndexOutOfRange(*i))?,
                    (TValue::Str(s), TValue::Int(i)) => TValue::Int(
                        *s.as_bytes()
                            .get(usize::try_from(*i).map_err(|_| FuncError::IndexOutOfRange(*i))?)
                            .ok_or(FuncError::IndexOutOfRange(*i))? as i64,
                    ),
                    (c, k) => {
                        return Err(FuncError::CannotIndex {
                            item: value_v(c),
                            key: value_v(k),
                        });
                    }
                };
            }
            Ok(v)
        }
        "slice" => {
            let Some((first, idx)) = args.split_first() else {
                return Err(FuncError::NoArgs("slice"));
            };
            let bounds: Vec<usize> = idx
                .iter()
                .map(|x| match x {
                    TValue::Int(i) if *i >= 0 => Ok(*i as usize),
                    other => Err(FuncError::BadSliceIndex(value_v(other))),
                })
                .collect::<Result<_, _>>()?;
            match first {
                TValue::Str(s) => {
                    let lo = bounds.first().copied().unwrap_or(0);
                    let hi = bounds.get(1).copied().unwrap_or(s.len());
                    s.get(lo..hi)
                        .map(TValue::str)
                        .ok_or(FuncError::SliceOutOfRange { lo, hi })
                }
                TValue::List(l) => {
                    let lo = bounds.first().copied().unwrap_or(0);
                    let hi = bounds.get(1).copied().unwrap_or(l.len());
                    l.get(lo..hi)
                        .map(|x| TValue::List(Arc::new(x.to_vec())))
                        .ok_or(FuncError::SliceOutOfRange { lo, hi })
                }
                other => Err(FuncError::CannotSlice(value_v(other))),
            }
        }
        "print" => Ok(TValue::Str(go_sprint(&args))),
        "println" => {
            let parts: Vec<String> = args.iter().map(value_v).collect();
            Ok(TValue::Str(parts.join(" ") + "\n"))
        }
        "printf" => {
            let Some((f, rest)) = args.split_first() else {
                return Err(FuncError::NoArgs("printf"));
            };
            Ok(TValue::Str(sprintf(&string_arg(f)?, rest)))
        }
        "eq" => {
            let Some((a, rest)) = args.split_first() else {
                return Err(FuncError::MissingComparand);
            };
            if rest.is_empty() {
                return Err(FuncError::MissingComparand);
            }
            for b in rest {
                if compare(a, b)? == std::cmp::Ordering::Equal {
                    return Ok(TValue::Bool(true));
                }
            }
            Ok(TValue::Bool(false))
        }
        "ne" | "lt" | "le" | "gt" | "ge" => {
            want(name, &args, 2)?;
            let o = compare(&args[0], &args[1])?;
            use std::cmp::Ordering::*;
            Ok(TValue::Bool(match name {
                "ne" => o != Equal,
                "lt" => o == Less,
                "le" => o != Greater,
                "gt" => o == Greater,
                _ => o != Less,
            }))
        }
        "html" => Ok(TValue::Str(html_escape(&go_sprint(&args)))),
        "js" => Ok(TValue::Str(js_escape(&go_sprint(&args)))),
        "urlquery" => Ok(TValue::Str(query_escape(&go_sprint(&args)))),
        "query" => {
            want(name, &args, 1)?;
            let q = string_arg(&args[0])?;
            let Some(run) = ctx.query else {
                return Err(FuncError::NoQuery);
            };
            let samples = run(&q).map_err(FuncError::Query)?;
            Ok(TValue::List(Arc::new(
                samples.into_iter().map(|s| TValue::Sample(Arc::new(s))).collect(),
            )))
        }
        "first" => {
            want(name, &args, 1)?;
            match &args[0] {
                TValue::List(l) => l.first().cloned().ok_or(FuncError::FirstOfEmpty),
                other => Err(FuncError::FirstOf(value_v(other))),
            }
        }
        "label" => {
            want(name, &args, 2)?;
            let l = string_arg(&args[0])?;
            let s = sample_arg(&args[1])?;
            Ok(TValue::str(s.labels.get(&l).cloned().unwrap_or_default()))
        }
        "value" => {
            want(name, &args, 1)?;
            Ok(TValue::Float(sample_arg(&args[0])?.value))
        }
        "strvalue" => {
            want(name, &args, 1)?;
            Ok(TValue::str(
                sample_arg(&args[0])?
                    .labels
                    .get("__value__")
                    .cloned()
                    .unwrap_or_default(),
            ))
        }
        "args" => Ok(TValue::Map(Arc::new(
            args.into_iter()
                .enumerate()
                .map(|(i, v)| (format!("arg{i}"), v))
                .collect::<BTreeMap<_, _>>(),
        ))),
        "reReplaceAll" => {
            want(name, &args, 3)?;
            let re = regex_arg(&args[0])?;
            Ok(TValue::Str(
                re.replace_all(&string_arg(&args[2])?, string_arg(&args[1])?.as_str())
                    .into_owned(),
            ))
        }
        "safeHtml" => {
            want(name, &args, 1)?;
            Ok(TValue::Html(string_arg(&args[0])?))
        }
        "match" => {
            want(name, &args, 2)?;
            let re = regex_arg(&args[0])?;
            Ok(TValue::Bool(re.is_match(&string_arg(&args[1])?)))
        }
        "title" => {
            want(name, &args, 1)?;
            Ok(TValue::Str(title(&string_arg(&args[0])?)))
        }
        "toUpper" => {
            want(name, &args, 1)?;
            Ok(TValue::Str(string_arg(&args[0])?.to_uppercase()))
        }
        "toLower" => {
            want(name, &args, 1)?;
            Ok(TValue::Str(string_arg(&args[0])?.to_lowercase()))
        }
        "graphLink" | "tableLink" => {
            want(name, &args, 1)?;
            let tab = if name == "graphLink" { 0 } else { 1 };
            Ok(TValue::Str(format!(
                "/graph?g0.expr={}&g0.tab={tab}",
                query_escape(&string_arg(&args[0])?)
            )))
        }
        "sortByLabel" => {
            want(name, &args, 2)?;
            let l = string_arg(&args[0])?;
            let TValue::List(list) = &args[1] else {
                return Err(FuncError::NotQueryResult);
            };
            let mut v: Vec<TValue> = list.as_ref().clone();
            let key = |x: &TValue| match x {
                TValue::Sample(s) => s.labels.get(&l).cloned().unwrap_or_default(),
                _ => String::new(),
            };
            v.sort_by_key(key);
            Ok(TValue::List(Arc::new(v)))
        }
        "humanize" => {
            want(name, &args, 1)?;
            Ok(TValue::Str(humanize(float_arg(&args[0])?)))
        }
        "humanize1024" => {
            want(name, &args, 1)?;
            Ok(TValue::Str(humanize1024(float_arg(&args[0])?)))
        }
        "humanizeDuration" => {
            want(name, &args, 1)?;
            Ok(TValue::Str(humanize_duration(float_arg(&args[0])?)))
        }
        "humanizePercentage" => {
            want(name, &args, 1)?;
            Ok(TValue::Str(format!(
                "{}%",
                fmt_g(float_arg(&args[0])? * 100.0, Some(4), false)
            )))
        }
        "humanizeTimestamp" | "toTime" => {
            want(name, &args, 1)?;
            let v = float_arg(&args[0])?;
            if !v.is_finite() {
                return Ok(TValue::Str(fmt_g(v, Some(4), false)));
            }
            Ok(TValue::Str(go_time_string(v)))
        }
        "toDuration" => {
            want(name, &args, 1)?;
            Ok(TValue::Str(duration_string(float_arg(&args[0])?)))
        }
        "pathPrefix" => Ok(TValue::str(ctx.path_prefix)),
        "externalURL" => Ok(TValue::str(ctx.external_url)),
        "parseDuration" => {
            want(name, &args, 1)?;
            let d = crate::model::PromDuration::parse(&string_arg(&args[0])?)?;
            Ok(TValue::Float(d.as_duration().as_secs_f64()))
        }
        "stripPort" => {
            want(name, &args, 1)?;
            let s = string_arg(&args[0])?;
            Ok(TValue::Str(split_host_port(&s).map(|(h, _)| h).unwrap_or(s)))
        }
        "stripDomain" => {
            want(name, &args, 1)?;
            let s = string_arg(&args[0])?;
            let (host, port) = split_host_port(&s).unwrap_or((s.clone(), String::new()));
            if host.parse::<std::net::IpAddr>().is_ok() {
                return Ok(TValue::Str(s));
            }
            let short = host.split('.').next().unwrap_or("").to_string();
            Ok(TValue::Str(if port.is_empty() {
                short
            } else {
                format!("{short}:{port}")
            }))
        }
        "now" => Ok(TValue::Float(ctx.now_secs)),
        other => Err(FuncError::NotDefined(other.to_string())),
    }
}

/// Go's `fmt.Sprint`: a space between operands when neither is a string.
fn go_sprint(args: &[TValue]) -> String {
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 && !matches!(a, TValue::Str(_)) && !matches!(args[i - 1], TValue::Str(_)) {
            out.push(' ');
        }
        out.push_str(&value_v(a));
    }
    out
}

fn compare(a: &TValue, b: &TValue) -> Result<std::cmp::Ordering, FuncError> {
    match (a, b) {
        (TValue::Str(x), TValue::Str(y)) => Ok(x.cmp(y)),
        (TValue::Bool(x), TValue::Bool(y)) => Ok(x.cmp(y)),
        (TValue::Int(x), TValue::Int(y)) => Ok(x.cmp(y)),
        (x, y) if x.as_f64().is_some() && y.as_f64().is_some() => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .ok_or(FuncError::NanComparison),
        (TValue::Nil, TValue::Nil) => Ok(std::cmp::Ordering::Equal),
        (x, y) => Err(FuncError::Incomparable(value_v(x), value_v(y))),
    }
}

pub fn humanize(mut v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return fmt_g(v, Some(4), false);
    }
    let mut prefix = "";
    if v.abs() >= 1.0 {
        for p in ["k", "M", "G", "T", "P", "E", "Z", "Y"] {
            if v.abs() < 1000.0 {
                break;
            }
            prefix = p;
            v /= 1000.0;
        }
        return format!("{}{prefix}", fmt_g(v, Some(4), false));
    }
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}", fmt_g(v, Some(4), false))
}

pub fn humanize1024(mut v: f64) -> String {
    if v.abs() <= 1.0 || !v.is_finite() {
        return fmt_g(v, Some(4), false);
    }
    let mut prefix = "";
    for p in ["ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"] {
        if v.abs() < 1024.0 {
            break;
        }
        prefix = p;
        v /= 1024.0;
    }
    format!("{}{prefix}", fmt_g(v, Some(4), false))
}

pub fn humanize_duration(mut v: f64) -> String {
    if !v.is_finite() {
        return fmt_g(v, Some(4), false);
    }
    if v == 0.0 {
        return format!("{}s", fmt_g(v, Some(4), false));
    }
    if v.abs() >= 1.0 {
        let sign = if v < 0.0 { "-" } else { "" };
        v = v.abs();
        let d = v as i64;
        let (secs, mins, hours, days) = (d % 60, (d / 60) % 60, (d / 3600) % 24, d / 86_400);
        if days != 0 {
            return format!("{sign}{days}d {hours}h {mins}m {secs}s");
        }
        if hours != 0 {
            return format!("{sign}{hours}h {mins}m {secs}s");
        }
        if mins != 0 {
            return format!("{sign}{mins}m {secs}s");
        }
        return format!("{sign}{}s", fmt_g(v, Some(4), false));
    }
    let mut prefix = "";
    for p in ["m", "u", "n", "p", "f", "a", "z", "y"] {
        if v.abs() >= 1.0 {
            break;
        }
        prefix = p;
        v *= 1000.0;
    }
    format!("{}{prefix}s", fmt_g(v, Some(4), false))
}

/// Go's `time.Time.String()` of a UTC instant given in seconds.
fn go_time_string(secs: f64) -> String {
    // Prometheus goes through model.Time, so the instant is whole milliseconds.
    let ms = (secs * 1e9) as i64 / 1_000_000;
    let nanos = (ms.rem_euclid(1000) * 1_000_000) as u32;
    let Some(t) = chrono::DateTime::from_timestamp(ms.div_euclid(1000), nanos) else {
        return fmt_g(secs, Some(4), false);
    };
    let mut s = t.format("%Y-%m-%d %H:%M:%S").to_string();
    if nanos > 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s + " +0000 UTC"
}

fn split_host_port(s: &str) -> Option<(String, String)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = after.strip_prefix(':')?;
        return Some((host.to_string(), port.to_string()));
    }
    let (host, port) = s.rsplit_once(':')?;
    if host.contains(':') {
        return None;
    }
    Some((host.to_string(), port.to_string()))
}

/// Go's `strings.Title`: upper-cases the first letter of each word.
fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_sep = true;
    for c in s.chars() {
        if prev_sep {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_sep = !(c.is_alphanumeric() || c == '_');
    }
    out
}

/// Go's `html` escaping: safe in element text and in quoted attribute
/// values (also what Belfry's own pages use).
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '\0' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Go's `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn humanizers_match_prometheus() {
        assert_eq!(humanize(0.0), "0");
        assert_eq!(humanize(1234.0), "1.234k");
        assert_eq!(humanize(1_234_567.0), "1.235M");
        assert_eq!(humanize(0.0012), "1.2m");
        assert_eq!(humanize1024(1024.0), "1ki");
        assert_eq!(humanize1024(1_048_576.0 * 3.5), "3.5Mi");
        assert_eq!(humanize_duration(0.0), "0s");
        assert_eq!(humanize_duration(1.5), "1.5s");
        assert_eq!(humanize_duration(90.0), "1m 30s");
        assert_eq!(humanize_duration(90061.0), "1d 1h 1m 1s");
        assert_eq!(humanize_duration(0.25), "250ms");
        assert_eq!(
            go_time_string(1_435_065_584.128),
            "2015-06-23 13:19:44.128 +0000 UTC"
        );
        assert_eq!(title("aa bb-cc"), "Aa Bb-Cc");
        assert_eq!(query_escape("up == 0"), "up+%3D%3D+0");
    }
}
