//! Loki's JSON push body: `{"streams": [{"stream": {labels}, "values":
//! [["<ns>", "line"], ["<ns>", "line", {structured metadata}]]}]}`.
//! A malformed body is refused whole; a stream with bad labels or an entry
//! that is not `[ts, line(, metadata)]` is refused alone.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{LokiError, check_labels};
use crate::logs::ingest::Decoded;
use crate::logs::{Entry, json_kind, string_labels};

#[derive(Deserialize)]
struct PushBody {
    #[serde(default)]
    streams: Vec<StreamBody>,
}

#[derive(Deserialize)]
struct StreamBody {
    #[serde(default)]
    stream: Map<String, Value>,
    #[serde(default)]
    values: Vec<Value>,
}

/// Items are streams; an entry's error names its place in the stream.
pub fn decode_json(body: &[u8]) -> Result<Decoded<LokiError>, LokiError> {
    let push: PushBody = serde_json::from_slice(body).map_err(|e| LokiError::Json(e.to_string()))?;
    let mut out = Decoded::default();
    for (i, stream) in push.streams.into_iter().enumerate() {
        let labels = match stream_labels(stream.stream) {
            Ok(labels) => labels,
            Err(e) => {
                out.reject(i, e);
                continue;
            }
        };
        for (j, value) in stream.values.into_iter().enumerate() {
            match entry(value) {
                Ok((timestamp_ns, line, fields)) => out.entries.push(Entry {
                    timestamp_ns: Some(timestamp_ns),
                    labels: labels.clone(),
                    line,
                    level: None,
                    fields,
                }),
                Err(reason) => out.reject(i, LokiError::Entry { entry: j, reason }),
            }
        }
    }
    Ok(out)
}

fn stream_labels(stream: Map<String, Value>) -> Result<Vec<(String, String)>, LokiError> {
    let mut labels = string_labels(stream).map_err(|(name, _)| LokiError::LabelValue(name))?;
    labels.sort_by(|a, b| a.0.cmp(&b.0));
    check_labels(&labels)?;
    Ok(labels)
}

fn entry(value: Value) -> Result<(i64, String, Map<String, Value>), String> {
    let Value::Array(items) = value else {
        return Err("not an array [timestamp, line]".to_string());
    };
    if !(2..=3).contains(&items.len()) {
        return Err(format!(
            "has {} elements; expected [timestamp, line] or [timestamp, line, metadata]",
            items.len()
        ));
    }
    let mut items = items.into_iter();
    let ts = parse_timestamp(items.next().expect("length checked"))?;
    let line = match items.next().expect("length checked") {
        Value::String(s) => s,
        other => return Err(format!("line is {}, not a string", json_kind(&other))),
    };
    let fields = match items.next() {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => {
            // Loki's structured metadata is string → string; other values
            // are kept as sent rather than failing the line.
            m
        }
        Some(other) => {
            return Err(format!(
                "structured metadata is {}, not an object",
                json_kind(&other)
            ));
        }
    };
    Ok((ts, line, fields))
}

/// Loki sends nanoseconds as a decimal string; a bare integer is accepted
/// too since several hand-written clients send one.
fn parse_timestamp(v: Value) -> Result<i64, String> {
    match &v {
        Value::String(s) => s
            .parse::<i64>()
            .map_err(|_| format!("timestamp {s:?} is not integer nanoseconds since the epoch")),
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| format!("timestamp {n} is not integer nanoseconds since the epoch")),
        other => Err(format!(
            "timestamp is {}, not a string of nanoseconds",
            json_kind(other)
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_logging_loki_payload() {
        let body = include_bytes!("../../../../tests/fixtures/logs/loki_python_logging_loki.json");
        let out = decode_json(body).unwrap();
        assert!(out.rejected.is_empty());
        assert_eq!(out.entries.len(), 1);
        let e = &out.entries[0];
        assert_eq!(e.timestamp_ns, Some(1_796_583_850_954_471_936));
        assert_eq!(e.line, "grade export slow for user 42");
        let labels: Vec<(&str, &str)> = e.labels.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
        assert_eq!(
            labels,
            [
                ("logger", "loki"),
                ("request_id", "r-1"),
                ("service", "lms-api"),
                ("severity", "warning")
            ]
        );
    }

    #[test]
    fn structured_metadata_and_per_item_errors() {
        let body = json!({"streams": [
            {"stream": {"app": "lms"}, "values": [
                ["1700000000000000001", "one", {"trace_id": "abc"}],
                ["nope", "bad ts"],
                [1700000000000000002i64, "numeric ts"],
                ["1", 5],
                "x",
            ]},
            {"stream": {}, "values": [["1", "no labels"]]},
            {"stream": {"bad-name": "x"}, "values": [["1", "l"]]},
            {"stream": {"a": 1}, "values": [["1", "l"]]},
        ]});
        let out = decode_json(body.to_string().as_bytes()).unwrap();
        assert_eq!(out.entries.len(), 2);
        assert_eq!(out.entries[0].fields.get("trace_id"), Some(&json!("abc")));
        assert_eq!(out.entries[1].timestamp_ns, Some(1_700_000_000_000_000_002));
        let errors: Vec<String> = out
            .rejected
            .iter()
            .map(|r| format!("{}: {}", r.item, r.error))
            .collect();
        assert_eq!(
            errors,
            [
                "0: entry 1: timestamp \"nope\" is not integer nanoseconds since the epoch",
                "0: entry 3: line is a number, not a string",
                "0: entry 4: not an array [timestamp, line]",
                "1: a stream has no labels; Loki needs at least one per stream",
                "2: label name \"bad-name\" is not valid ([a-zA-Z_][a-zA-Z0-9_]*)",
                "3: stream label \"a\" is not a string",
            ]
        );
    }

    #[test]
    fn malformed_body_is_refused_whole() {
        assert!(matches!(
            decode_json(b"{\"streams\": [}"),
            Err(LokiError::Json(_))
        ));
        assert!(matches!(decode_json(b"\"streams\""), Err(LokiError::Json(_))));
        assert!(decode_json(b"{}").unwrap().entries.is_empty());
    }
}
