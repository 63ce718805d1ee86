//! Log records → entries. `service.name` from the resource becomes the
//! `service` label; every resource attribute is kept as a field under its
//! own name (`deployment.environment`, `service.instance.id`, …), then the
//! scope's name and version (`scope.name`, `scope.version`), then the
//! record's attributes, which win a clash. The body is the line (a
//! structured body is written as JSON); the severity number, else the
//! severity text, the level; trace and span ids become hex fields.

use serde_json::{Map, Number, Value};

use super::OtlpError;
use super::proto::{AnyValue, ExportLogsServiceRequest, KeyValue, LogRecord, any_value};
use crate::logs::ingest::Decoded;
use crate::logs::{Entry, LevelHint};

/// Items are log records, counted across the whole request.
pub fn entries(request: ExportLogsServiceRequest) -> Decoded<OtlpError> {
    let mut out = Decoded::default();
    let mut n = 0;
    for rl in request.resource_logs {
        let mut base = Map::new();
        let mut labels = Vec::new();
        for kv in rl.resource.map(|r| r.attributes).unwrap_or_default() {
            let value = kv.value.map(any_to_json).unwrap_or(Value::Null);
            if kv.key == "service.name"
                && let Value::String(s) = &value
            {
                labels.push(("service".to_string(), s.clone()));
            }
            base.insert(kv.key, value);
        }
        for sl in rl.scope_logs {
            let mut scoped = base.clone();
            if let Some(scope) = sl.scope {
                if !scope.name.is_empty() {
                    scoped.insert("scope.name".into(), Value::String(scope.name));
                }
                if !scope.version.is_empty() {
                    scoped.insert("scope.version".into(), Value::String(scope.version));
                }
            }
            for record in sl.log_records {
                match entry(record, n, &scoped, &labels) {
                    Ok(e) => out.entries.push(e),
                    Err(e) => out.reject(n, e),
                }
                n += 1;
            }
        }
    }
    out
}

fn entry(
    r: LogRecord,
    n: usize,
    scoped: &Map<String, Value>,
    labels: &[(String, String)],
) -> Result<Entry, OtlpError> {
    if !r.trace_id.is_empty() && r.trace_id.len() != 16 {
        return Err(OtlpError::TraceId {
            record: n,
            len: r.trace_id.len(),
        });
    }
    if !r.span_id.is_empty() && r.span_id.len() != 8 {
        return Err(OtlpError::SpanId {
            record: n,
            len: r.span_id.len(),
        });
    }
    let nanos = if r.time_unix_nano != 0 {
        r.time_unix_nano
    } else {
        r.observed_time_unix_nano
    };
    let timestamp_ns = match nanos {
        0 => None,
        n_ns => Some(i64::try_from(n_ns).map_err(|_| OtlpError::Timestamp {
            record: n,
            nanos: n_ns,
        })?),
    };
    let mut fields = scoped.clone();
    push_attributes(&mut fields, r.attributes);
    if !r.trace_id.is_empty() {
        fields.insert("trace_id".into(), Value::String(hex(&r.trace_id)));
    }
    if !r.span_id.is_empty() {
        fields.insert("span_id".into(), Value::String(hex(&r.span_id)));
    }
    if !r.event_name.is_empty() {
        fields.insert("event_name".into(), Value::String(r.event_name));
    }
    let level = if r.severity_number != 0 {
        if !r.severity_text.is_empty() {
            fields.insert("severity_text".into(), Value::String(r.severity_text));
        }
        Some(LevelHint::Otlp(r.severity_number))
    } else if !r.severity_text.is_empty() {
        Some(LevelHint::Text(r.severity_text))
    } else {
        None
    };
    let line = match r.body.map(any_to_json) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s,
        Some(other) => other.to_string(),
    };
    Ok(Entry {
        timestamp_ns,
        labels: labels.to_vec(),
        line,
        level,
        fields,
    })
}

fn push_attributes(fields: &mut Map<String, Value>, attributes: Vec<KeyValue>) {
    for kv in attributes {
        fields.insert(kv.key, kv.value.map(any_to_json).unwrap_or(Value::Null));
    }
}

/// An `AnyValue` as JSON: numbers stay numbers (a non-finite double
/// becomes its name), bytes become base64 as OTLP/JSON writes them.
pub fn any_to_json(v: AnyValue) -> Value {
    match v.value {
        None => Value::Null,
        Some(any_value::Value::StringValue(s)) => Value::String(s),
        Some(any_value::Value::BoolValue(b)) => Value::Bool(b),
        Some(any_value::Value::IntValue(i)) => Value::Number(i.into()),
        Some(any_value::Value::DoubleValue(d)) => {
            Number::from_f64(d).map_or_else(|| Value::String(d.to_string()), Value::Number)
        }
        Some(any_value::Value::ArrayValue(a)) => {
            Value::Array(a.values.into_iter().map(any_to_json).collect())
        }
        Some(any_value::Value::KvlistValue(kv)) => {
            let mut map = Map::new();
            push_attributes(&mut map, kv.values);
            Value::Object(map)
        }
        Some(any_value::Value::BytesValue(b)) => Value::String(base64(&b)),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(A[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::ingest::otlp::decode_protobuf;

    #[test]
    fn python_sdk_records() {
        let error = entries(
            decode_protobuf(include_bytes!(
                "../../../../tests/fixtures/logs/otlp_python_sdk_error.pb"
            ))
            .unwrap(),
        );
        assert!(error.rejected.is_empty());
        let e = &error.entries[0];
        assert_eq!(e.line, "otel error in span");
        assert_eq!(e.level, Some(LevelHint::Otlp(17)));
        assert_eq!(e.labels, vec![("service".to_string(), "lms-worker".to_string())]);
        assert_eq!(e.fields["deployment.environment"], "prod");
        assert_eq!(e.fields["scope.name"], "otel");
        assert_eq!(e.fields["severity_text"], "ERROR");
        assert_eq!(e.fields["request_id"], "r-3");
        assert_eq!(e.fields["http.status_code"], 500);
        assert_eq!(e.fields["ratio"], 0.5);
        assert_eq!(e.fields["ok"], true);
        assert_eq!(e.fields["trace_id"].as_str().unwrap().len(), 32);
        assert_eq!(e.fields["span_id"].as_str().unwrap().len(), 16);
        assert!(e.timestamp_ns.unwrap() > 1_700_000_000_000_000_000);
        let info = entries(
            decode_protobuf(include_bytes!(
                "../../../../tests/fixtures/logs/otlp_python_sdk_info.pb"
            ))
            .unwrap(),
        );
        assert_eq!(info.entries[0].line, "otel info");
        assert_eq!(info.entries[0].level, Some(LevelHint::Otlp(9)));
        assert!(!info.entries[0].fields.contains_key("trace_id"));
    }

    #[test]
    fn base64_matches_the_rfc() {
        for (raw, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(raw.as_bytes()), want);
        }
    }
}
