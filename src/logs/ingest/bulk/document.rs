//! One bulk document → an entry, reading Elastic Common Schema names:
//! `@timestamp` (RFC 3339 or epoch milliseconds), `message` (or `log`,
//! `msg`, as Docker and Python formatters name it), `log.level` (dotted or
//! nested; else `level`, `severity`), and `service.name` / `host.name`
//! with the target index as the labels. Every other field is kept as sent.

use serde_json::{Map, Value};

use super::BulkError;
use crate::logs::{Entry, LevelHint};

pub fn document_entry(mut doc: Map<String, Value>, index: &str) -> Result<Entry, BulkError> {
    let timestamp_ns = match doc.remove("@timestamp") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(
            chrono::DateTime::parse_from_rfc3339(&s)
                .ok()
                .and_then(|t| t.timestamp_nanos_opt())
                .ok_or_else(|| BulkError::Timestamp(format!("{s:?} is not an RFC 3339 date")))?,
        ),
        Some(Value::Number(n)) => Some(
            n.as_i64()
                .and_then(|ms| ms.checked_mul(1_000_000))
                .ok_or_else(|| BulkError::Timestamp(format!("{n} is not epoch milliseconds")))?,
        ),
        Some(other) => return Err(BulkError::Timestamp(format!("{other} is not a date"))),
    };
    let line = ["message", "log", "msg"]
        .iter()
        .find_map(|k| match doc.get(*k) {
            Some(Value::String(_)) => doc.remove(*k).and_then(|v| v.as_str().map(str::to_string)),
            _ => None,
        })
        .unwrap_or_default();
    let level = take_dotted(&mut doc, "log", "level")
        .or_else(|| take_string(&mut doc, "level"))
        .or_else(|| take_string(&mut doc, "severity"))
        .map(LevelHint::Text);
    let mut labels = vec![("index".to_string(), index.to_string())];
    if let Some(service) = take_dotted(&mut doc, "service", "name") {
        labels.push(("service".to_string(), service));
    }
    if let Some(host) = take_dotted(&mut doc, "host", "name") {
        labels.push(("host".to_string(), host));
    }
    labels.sort();
    Ok(Entry {
        timestamp_ns,
        labels,
        line,
        level,
        fields: doc,
    })
}

fn take_string(doc: &mut Map<String, Value>, key: &str) -> Option<String> {
    match doc.get(key) {
        Some(Value::String(_)) => doc.remove(key).and_then(|v| v.as_str().map(str::to_string)),
        _ => None,
    }
}

/// `outer.inner` written flat (`"log.level": "warn"`) or nested (`"log":
/// {"level": "warn"}`); a nested object left empty is removed.
fn take_dotted(doc: &mut Map<String, Value>, outer: &str, inner: &str) -> Option<String> {
    if let Some(v) = take_string(doc, &format!("{outer}.{inner}")) {
        return Some(v);
    }
    let Some(Value::Object(obj)) = doc.get_mut(outer) else {
        return None;
    };
    let v = take_string(obj, inner)?;
    if obj.is_empty() {
        doc.remove(outer);
    }
    Some(v)
}
