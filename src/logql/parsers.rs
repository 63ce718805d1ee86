//! The `| json` and `| logfmt` parsers. A record stored structured keeps
//! its message as the line and its other fields apart; both parsers see
//! those fields (and `error`) first, then whatever the message itself
//! holds (a JSON object, or `key=value` pairs).

use serde_json::{Map, Value};

use super::ast::Extraction;
use super::line_entry::{ERROR_DETAILS_LABEL, ERROR_LABEL, PipelineLine};
use crate::logs::ingest::files::logfmt::{Strictness, read_logfmt};

#[derive(Debug, Clone, PartialEq)]
pub enum PathElem {
    Key(String),
    Index(usize),
}

/// `a.b[0]`, `a["b c"]`, `["x"].y`: a JSON path of `| json name="expr"`.
pub fn parse_json_path(src: &str) -> Result<Vec<PathElem>, String> {
    let mut out = Vec::new();
    let mut rest = src.trim();
    let bad = || format!("invalid JSON expression {src:?}");
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']').ok_or_else(bad)?;
            let inner = r[..end].trim();
            if let Some(q) = inner.strip_prefix('"').and_then(|i| i.strip_suffix('"')) {
                out.push(PathElem::Key(q.to_string()));
            } else {
                out.push(PathElem::Index(inner.parse().map_err(|_| bad())?));
            }
            rest = &r[end + 1..];
        } else {
            let r = rest.strip_prefix('.').unwrap_or(rest);
            if !out.is_empty() && !rest.starts_with('.') {
                return Err(bad());
            }
            let end = r.find(['.', '[']).unwrap_or(r.len());
            if end == 0 {
                return Err(bad());
            }
            out.push(PathElem::Key(r[..end].to_string()));
            rest = &r[end..];
        }
    }
    if out.is_empty() {
        return Err(bad());
    }
    Ok(out)
}

/// A label name Loki would make of a key: invalid characters become `_`.
pub fn sanitize_label(key: &str) -> String {
    let mut s: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn flatten(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let key = if prefix.is_empty() {
                    sanitize_label(k)
                } else {
                    format!("{prefix}_{}", sanitize_label(k))
                };
                flatten(&key, v, out);
            }
        }
        other => {
            if !prefix.is_empty() {
                out.push((prefix.to_string(), scalar_text(other)));
            }
        }
    }
}

/// The object `| json` reads: the record's fields and error, then the
/// message's own keys when it is a JSON object.
fn json_object(line: &PipelineLine) -> Option<Map<String, Value>> {
    let mut obj = line.fields.clone();
    if let Some(e) = &line.error {
        obj.insert("error".into(), Value::String(e.clone()));
    }
    let trimmed = line.line.trim_start();
    if trimmed.starts_with('{') {
        match serde_json::from_str::<Value>(trimmed) {
            Ok(Value::Object(m)) => obj.extend(m),
            _ => return None,
        }
    } else if obj.is_empty() {
        return None;
    }
    Some(obj)
}

pub fn run_json(line: &mut PipelineLine, extractions: &[Extraction]) {
    let Some(obj) = json_object(line) else {
        line.labels.set_extracted(ERROR_LABEL, "JSONParserErr");
        line.labels.set_extracted(
            ERROR_DETAILS_LABEL,
            "the line is not a JSON object and the record has no fields",
        );
        return;
    };
    let root = Value::Object(obj);
    if extractions.is_empty() {
        let mut pairs = Vec::new();
        flatten("", &root, &mut pairs);
        for (k, v) in pairs {
            line.labels.set_extracted(&k, v);
        }
        return;
    }
    for x in extractions {
        let path = match &x.expr {
            Some(e) => parse_json_path(e).unwrap_or_default(),
            None => vec![PathElem::Key(x.label.clone())],
        };
        let mut cur = Some(&root);
        for p in &path {
            cur = match (cur, p) {
                (Some(Value::Object(m)), PathElem::Key(k)) => m.get(k),
                (Some(Value::Array(a)), PathElem::Index(i)) => a.get(*i),
                _ => None,
            };
        }
        let value = cur.map(scalar_text).unwrap_or_default();
        line.labels.set_extracted(&x.label, value);
    }
}

/// `| unpack`: Promtail's `pack` stage wrote the line as a JSON object
/// whose `_entry` holds the original line and whose other keys are the
/// labels it packed. String values become labels again and `_entry` the
/// line; a line that is no JSON object is marked `JSONParserErr`, as Loki
/// marks it.
pub fn run_unpack(line: &mut PipelineLine) {
    let object = match serde_json::from_str::<Value>(line.line.trim()) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return mark_json_error(line, "the line is not a JSON object".to_string()),
        Err(e) => return mark_json_error(line, e.to_string()),
    };
    let mut entry = None;
    for (key, value) in object {
        let Value::String(text) = value else { continue };
        if key == PACKED_ENTRY_KEY {
            entry = Some(text);
        } else {
            line.labels.set_extracted(&sanitize_label(&key), text);
        }
    }
    if let Some(entry) = entry {
        line.line = entry;
    }
}

/// Where Promtail's `pack` stage keeps the original line.
const PACKED_ENTRY_KEY: &str = "_entry";

fn mark_json_error(line: &mut PipelineLine, details: String) {
    line.labels.set_extracted(ERROR_LABEL, "JSONParserErr");
    line.labels.set_extracted(ERROR_DETAILS_LABEL, details);
}

/// `key=value` pairs of a logfmt text; `Err` at the first malformed spot.
pub fn logfmt_pairs(text: &str) -> Result<Vec<(String, String)>, String> {
    read_logfmt(text, Strictness::Strict)
}

pub fn run_logfmt(line: &mut PipelineLine, strict: bool, keep_empty: bool, extractions: &[Extraction]) {
    let mut pairs = Vec::new();
    for (k, v) in &line.fields {
        flatten(&sanitize_label(k), v, &mut pairs);
    }
    let parsed = if strict {
        match logfmt_pairs(&line.line) {
            Ok(p) => p,
            Err(e) => {
                line.labels.set_extracted(ERROR_LABEL, "LogfmtParserErr");
                line.labels.set_extracted(ERROR_DETAILS_LABEL, e);
                return;
            }
        }
    } else {
        lenient_logfmt(&line.line)
    };
    pairs.extend(parsed);
    if extractions.is_empty() {
        for (k, v) in pairs {
            if v.is_empty() && !keep_empty {
                continue;
            }
            line.labels.set_extracted(&sanitize_label(&k), v);
        }
        return;
    }
    for x in extractions {
        let key = x.expr.as_deref().unwrap_or(&x.label);
        if let Some((_, v)) = pairs.iter().rev().find(|(k, _)| k == key) {
            if v.is_empty() && !keep_empty {
                continue;
            }
            line.labels.set_extracted(&x.label, v.clone());
        }
    }
}

/// Without `--strict`, a text that does not parse whole is read word
/// by word, skipping the malformed ones.
fn lenient_logfmt(text: &str) -> Vec<(String, String)> {
    if let Ok(p) = logfmt_pairs(text) {
        return p;
    }
    text.split_whitespace()
        .filter_map(|w| logfmt_pairs(w).ok())
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::Level;
    use crate::logs::index::LogLine;

    proptest::proptest! {
        /// What the parser accepts, written back as logfmt, reads back the
        /// same; any text may be refused but never panics.
        #[test]
        fn logfmt_pairs_written_back_read_back(text in "[a-z= \"\\\\é\t\n]{0,24}") {
            if let Ok(pairs) = logfmt_pairs(&text) {
                let written = crate::logs::ingest::files::logfmt::format_logfmt(&pairs);
                proptest::prop_assert_eq!(logfmt_pairs(&written).unwrap(), pairs);
            }
        }
    }

    #[test]
    fn a_logfmt_escape_of_a_multibyte_character_keeps_it_whole() {
        assert_eq!(
            logfmt_pairs(r#"a="x\éy" b=1"#).unwrap(),
            [
                ("a".to_string(), "xéy".to_string()),
                ("b".to_string(), "1".to_string())
            ]
        );
    }

    fn line(message: &str, fields: Value) -> PipelineLine {
        PipelineLine::from_log_line(LogLine {
            id: 1,
            timestamp_ns: 1,
            level: Level::Info,
            service: "api".into(),
            request_id: None,
            user: None,
            path: Some("/x".into()),
            status: None,
            duration: None,
            message: message.into(),
            error: None,
            labels: Map::new(),
            fields: fields.as_object().cloned().unwrap_or_default(),
        })
    }

    #[test]
    fn json_flattens_fields_and_the_message() {
        let mut l = line(
            r#"{"a":{"b":1,"c-d":"x"},"arr":[1,2],"path":"/y"}"#,
            serde_json::json!({"course": "CS1"}),
        );
        run_json(&mut l, &[]);
        assert_eq!(l.labels.get("a_b"), Some("1"));
        assert_eq!(l.labels.get("a_c_d"), Some("x"));
        assert_eq!(l.labels.get("arr"), Some("[1,2]"));
        assert_eq!(l.labels.get("course"), Some("CS1"));
        assert_eq!(l.labels.get("path_extracted"), Some("/y"));
        assert!(!l.labels.has_error());
    }

    #[test]
    fn json_with_expressions_and_errors() {
        let mut l = line(
            r#"{"req":{"headers":{"User-Agent":"curl"}},"servers":["a","b"]}"#,
            Value::Null,
        );
        let x = |label: &str, expr: &str| Extraction {
            label: label.into(),
            expr: Some(expr.into()),
        };
        run_json(
            &mut l,
            &[x("ua", r#"req.headers["User-Agent"]"#), x("first", "servers[1]")],
        );
        assert_eq!(l.labels.get("ua"), Some("curl"));
        assert_eq!(l.labels.get("first"), Some("b"));
        let mut l = line("plain text", Value::Null);
        run_json(&mut l, &[]);
        assert_eq!(l.labels.get("__error__"), Some("JSONParserErr"));
        assert!(parse_json_path("a..b").is_err());
    }

    #[test]
    fn logfmt_pairs_and_strictness() {
        assert_eq!(
            logfmt_pairs(r#"a=1 b="two words" c= flag"#).unwrap(),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "two words".into()),
                ("c".into(), String::new()),
                ("flag".into(), String::new())
            ]
        );
        let mut l = line(r#"a=1 b="x y" c"#, serde_json::json!({"f": 2}));
        run_logfmt(&mut l, false, false, &[]);
        assert_eq!(l.labels.get("a"), Some("1"));
        assert_eq!(l.labels.get("b"), Some("x y"));
        assert_eq!(l.labels.get("f"), Some("2"));
        assert_eq!(l.labels.get("c"), None);
        let mut l = line(r#"a="unterminated"#, Value::Null);
        run_logfmt(&mut l, true, false, &[]);
        assert_eq!(l.labels.get("__error__"), Some("LogfmtParserErr"));
        let mut l = line(r#"a=1 bad"x b=2"#, Value::Null);
        run_logfmt(&mut l, false, false, &[]);
        assert_eq!(l.labels.get("a"), Some("1"));
        assert_eq!(l.labels.get("b"), Some("2"));
    }
}
