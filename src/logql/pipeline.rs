//! Running a pipeline over one line: filters keep or drop it, parsers and
//! formats change its labels and text.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::template::{Context, TValue, Template};

use super::LogqlError;
use super::ast::{LabelFilter, LabelFormat, LabelSpec, LineFilter, LineFilterOp, NumberKind, Stage};
use super::line_entry::{ERROR_DETAILS_LABEL, ERROR_LABEL, Origin, PipelineLine};
use super::literals::{parse_bytes, parse_duration_ns};
use super::parsers::{run_json, run_logfmt, run_unpack};
use super::template_text::{LINE_KEY, TIMESTAMP_KEY};

pub fn line_filter_matches(f: &LineFilter, line: &str) -> bool {
    let any = match f.op {
        LineFilterOp::Contains | LineFilterOp::NotContains => {
            f.values.iter().any(|v| line.contains(v.as_str()))
        }
        LineFilterOp::Matches | LineFilterOp::NotMatches => f.regexes.iter().any(|r| r.is_match(line)),
        LineFilterOp::PatternMatches | LineFilterOp::PatternNotMatches => {
            f.patterns.iter().any(|p| p.matches_line(line))
        }
        LineFilterOp::Ip | LineFilterOp::NotIp => f.ip.as_ref().is_some_and(|ip| ip.matches_in(line)),
    };
    any != f.op.is_negative()
}

/// A label value read as the filter's kind of number.
pub fn label_number(value: &str, kind: NumberKind) -> Option<f64> {
    let v = value.trim();
    match kind {
        NumberKind::Number => v.parse().ok(),
        NumberKind::Duration => parse_duration_ns(v).map(|ns| ns / 1e9).or_else(|| v.parse().ok()),
        NumberKind::Bytes => parse_bytes(v),
    }
}

/// The `__error__` a numeric label filter sets on a value that is not its
/// kind of number.
pub const LABEL_FILTER_ERROR: &str = "LabelFilterErr";

/// Whether `line` passes `f`. As in Loki, a numeric filter drops a line
/// without the label, but keeps one whose value is not a number, marked
/// with `__error__="LabelFilterErr"` (unless an earlier stage already
/// marked it), so the mistake shows instead of silently emptying a result.
pub fn label_filter_matches(f: &LabelFilter, line: &mut PipelineLine) -> bool {
    match f {
        LabelFilter::And(a, b) => label_filter_matches(a, line) && label_filter_matches(b, line),
        LabelFilter::Or(a, b) => label_filter_matches(a, line) || label_filter_matches(b, line),
        LabelFilter::Text(m) => m.matches(line.labels.get(&m.name).unwrap_or("")),
        LabelFilter::Number {
            name,
            op,
            kind,
            value,
        } => {
            let Some(raw) = line.labels.get(name) else {
                return false;
            };
            if let Some(x) = label_number(raw, *kind) {
                return op.holds(x, *value);
            }
            if !line.labels.has_error() {
                let details = format!("cannot read {raw:?} of label {name:?} as a {}", kind.noun());
                line.labels
                    .set(ERROR_LABEL, LABEL_FILTER_ERROR, Origin::Extracted);
                line.labels.set(ERROR_DETAILS_LABEL, details, Origin::Extracted);
            }
            true
        }
        // As Loki: a line without the label is dropped either way.
        LabelFilter::Ip {
            name,
            negated,
            pattern,
        } => line
            .labels
            .get(name)
            .is_some_and(|v| pattern.matches_in(v) != *negated),
    }
}

/// What a metric query answers when a line reaching its samples still
/// carries `__error__`: Loki fails the query rather than count or skip the
/// line, naming the error and the series it would have landed in.
pub fn pipeline_error(line: &PipelineLine) -> LogqlError {
    LogqlError::Pipeline {
        error_type: line.labels.get(ERROR_LABEL).unwrap_or_default().to_string(),
        series: line.labels.to_labels().to_string(),
    }
}

fn template_data(line: &PipelineLine) -> TValue {
    let mut m: BTreeMap<String, TValue> = line
        .labels
        .iter()
        .map(|(n, v, _)| (n.to_string(), TValue::str(v)))
        .collect();
    m.insert(LINE_KEY.into(), TValue::str(&line.line));
    let secs = line.timestamp_ns.div_euclid(1_000_000_000);
    let nanos = line.timestamp_ns.rem_euclid(1_000_000_000) as u32;
    if let Some(t) = chrono::DateTime::from_timestamp(secs, nanos) {
        m.insert(
            TIMESTAMP_KEY.into(),
            TValue::Time(t.with_timezone(&chrono_tz::UTC)),
        );
    }
    TValue::Map(Arc::new(m))
}

fn render(t: &Template, line: &mut PipelineLine, dot: &TValue) -> Option<String> {
    let ctx = Context {
        query: None,
        external_url: "",
        path_prefix: "",
        now_secs: line.timestamp_ns as f64 / 1e9,
    };
    match t.execute(dot, None, &ctx, false) {
        Ok(s) => Some(s),
        Err(e) => {
            line.labels
                .set(ERROR_LABEL, "TemplateFormatErr", Origin::Extracted);
            line.labels
                .set(ERROR_DETAILS_LABEL, e.to_string(), Origin::Extracted);
            None
        }
    }
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            chars.next();
            for d in chars.by_ref() {
                if ('@'..='~').contains(&d) {
                    break;
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}

fn spec_matches(spec: &LabelSpec, name: &str, value: &str) -> bool {
    match spec {
        LabelSpec::Name(n) => n == name,
        LabelSpec::Matcher(m) => m.name == name && m.matches(value),
    }
}

/// Runs `stages` over `line`; false when a filter drops it.
pub fn run(stages: &[Stage], line: &mut PipelineLine) -> bool {
    for stage in stages {
        match stage {
            Stage::LineFilter(f) => {
                if !line_filter_matches(f, &line.line) {
                    return false;
                }
            }
            Stage::LabelFilter(f) => {
                if !label_filter_matches(f, line) {
                    return false;
                }
            }
            Stage::Json(x) => run_json(line, x),
            Stage::Logfmt {
                strict,
                keep_empty,
                extractions,
            } => run_logfmt(line, *strict, *keep_empty, extractions),
            Stage::Pattern(p) => {
                if let Some(caps) = p.captures(&line.line) {
                    let caps: Vec<(String, String)> = caps
                        .into_iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect();
                    for (k, v) in caps {
                        line.labels.set_extracted(&k, v);
                    }
                }
            }
            Stage::Regexp(re) => {
                if let Some(caps) = re.captures(&line.line) {
                    let found: Vec<(String, String)> = re
                        .capture_names()
                        .flatten()
                        .filter_map(|n| caps.name(n).map(|m| (n.to_string(), m.as_str().to_string())))
                        .collect();
                    for (k, v) in found {
                        line.labels.set_extracted(&k, v);
                    }
                }
            }
            Stage::LineFormat(t) => {
                let dot = template_data(line);
                if let Some(s) = render(t, line, &dot) {
                    line.line = s;
                }
            }
            Stage::LabelFormat(items) => {
                // Every item reads the labels as they were before the stage.
                let dot = template_data(line);
                let mut renames = Vec::new();
                let mut sets = Vec::new();
                for item in items {
                    match item {
                        LabelFormat::Rename { dst, src } => {
                            let v = line.labels.get(src).unwrap_or("").to_string();
                            renames.push(src.clone());
                            sets.push((dst.clone(), v));
                        }
                        LabelFormat::Template { dst, template } => {
                            if let Some(v) = render(template, line, &dot) {
                                sets.push((dst.clone(), v));
                            }
                        }
                    }
                }
                for src in renames {
                    line.labels.remove(&src);
                }
                for (dst, v) in sets {
                    line.labels.set(&dst, v, Origin::Extracted);
                }
            }
            Stage::Drop(specs) => line
                .labels
                .retain(|n, v, _| !specs.iter().any(|s| spec_matches(s, n, v))),
            Stage::Keep(specs) => {
                line.labels
                    .retain(|n, v, _| specs.iter().any(|s| spec_matches(s, n, v)));
                for s in specs {
                    line.labels.promote(s.name());
                }
            }
            Stage::Decolorize => line.line = strip_ansi(&line.line),
            Stage::Unpack => run_unpack(line),
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logql::parse::parse_log_query;
    use crate::logs::Level;
    use crate::logs::index::LogLine;

    fn sample() -> PipelineLine {
        PipelineLine::from_log_line(LogLine {
            id: 1,
            timestamp_ns: 1_700_000_000_000_000_000,
            level: Level::Error,
            service: "api".into(),
            request_id: Some("r1".into()),
            user: None,
            path: Some("/grades".into()),
            status: Some(503),
            duration: Some(1.5),
            message: "method=GET took=250ms size=2KB msg=\"db down\"".into(),
            error: None,
            labels: serde_json::Map::new(),
            fields: serde_json::Map::new(),
        })
    }

    fn run_query(q: &str) -> Option<PipelineLine> {
        let sel = parse_log_query(q).unwrap();
        let mut l = sample();
        run(&sel.pipeline, &mut l).then_some(l)
    }

    #[test]
    fn filters_on_metadata_and_parsed_labels() {
        assert!(run_query(r#"{service="api"} |= "db down" | status >= 500 and path="/grades""#).is_some());
        assert!(run_query(r#"{service="api"} != "db" "#).is_none());
        assert!(run_query(r#"{service="api"} | logfmt | took > 200ms and size >= 2KB"#).is_some());
        assert!(run_query(r#"{service="api"} | logfmt | took > 300ms"#).is_none());
        assert!(run_query(r#"{service="api"} | duration > 1s"#).is_some());
        assert!(run_query(r#"{service="api"} | missing > 1"#).is_none());
    }

    #[test]
    fn a_value_that_is_not_a_number_keeps_the_line_marked_with_label_filter_err() {
        let l = run_query(r#"{service="api"} | logfmt | took > 100"#).unwrap();
        assert_eq!(l.labels.get("__error__"), Some(LABEL_FILTER_ERROR));
        assert!(l.labels.get("__error_details__").unwrap().contains("\"250ms\""));
        assert!(run_query(r#"{service="api"} | logfmt | took > 100 | __error__="""#).is_none());
        // An earlier stage's error is the more useful one and stays.
        let l = run_query(r#"{service="api"} | json | logfmt | took > 100"#).unwrap();
        assert_eq!(l.labels.get("__error__"), Some("JSONParserErr"));
        let e = pipeline_error(&l).to_string();
        assert!(
            e.starts_with("pipeline error: 'JSONParserErr' for series: '{__error__=\"JSONParserErr\""),
            "{e}"
        );
    }

    #[test]
    fn unpack_restores_promtails_packed_lines_and_ip_filters_read_labels() {
        let sel = parse_log_query(
            r#"{service="api"} | unpack | client = ip("10.0.0.0/8") | line_format "{{.client}} {{__line__}}""#,
        )
        .unwrap();
        let mut l = sample();
        l.line = r#"{"container":"web","client":"10.2.3.4","n":5,"_entry":"GET /login"}"#.into();
        assert!(run(&sel.pipeline, &mut l));
        assert_eq!(l.line, "10.2.3.4 GET /login");
        assert_eq!(l.labels.get("container"), Some("web"));
        assert_eq!(l.labels.get("n"), None, "only string values are packed labels");
        let mut l = sample();
        l.line = r#"{"client":"192.168.0.1","_entry":"x"}"#.into();
        assert!(!run(&sel.pipeline, &mut l));
        let l = run_query(r#"{service="api"} | unpack"#).unwrap();
        assert_eq!(l.labels.get("__error__"), Some("JSONParserErr"));
    }

    #[test]
    fn formats_drop_and_keep() {
        let l = run_query(
            r#"{service="api"} | logfmt | line_format "{{.method}} {{.path}} {{ __line__ | len }}""#,
        )
        .unwrap();
        assert_eq!(l.line, "GET /grades 44");
        let l = run_query(
            r#"{service="api"} | logfmt | label_format verb=method, p="{{.path}}!" | drop took, size"#,
        )
        .unwrap();
        let labels = l.labels.to_labels();
        assert_eq!(labels.get("verb"), Some("GET"));
        assert_eq!(labels.get("method"), None);
        assert_eq!(labels.get("p"), Some("/grades!"));
        assert_eq!(labels.get("took"), None);
        let l = run_query(r#"{service="api"} | keep service, path"#).unwrap();
        assert_eq!(
            l.labels.to_labels(),
            crate::model::Labels::from_pairs(&[("path", "/grades"), ("service", "api")])
        );
    }

    #[test]
    fn decolorize_strips_escapes() {
        assert_eq!(strip_ansi("\x1b[31mred\x1b[0m ok"), "red ok");
    }
}
