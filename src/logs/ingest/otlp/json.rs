//! OTLP/JSON: the same messages in protobuf's JSON mapping as OTLP
//! specifies it — lowerCamelCase names (the proto's snake_case names are
//! accepted too), 64-bit integers as strings or numbers, trace and span ids
//! as hex, enums as numbers or names, unknown fields ignored. A field of the
//! wrong type refuses the request, naming its path.

use serde_json::{Map, Value};

use super::OtlpError;
use super::proto::{
    AnyValue, ArrayValue, ExportLogsServiceRequest, InstrumentationScope, KeyValue, KeyValueList, LogRecord,
    Resource, ResourceLogs, ScopeLogs, any_value,
};

/// Nesting of `AnyValue`s past this is refused (protobuf decoding stops at
/// the same depth).
const MAX_DEPTH: usize = 64;

pub fn decode_json(body: &[u8]) -> Result<ExportLogsServiceRequest, OtlpError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| OtlpError::Json(e.to_string()))?;
    let root = object(&value, "$")?;
    let mut request = ExportLogsServiceRequest::default();
    for (i, rl) in array(root, "resourceLogs", "resource_logs", "$")?
        .iter()
        .enumerate()
    {
        let path = format!("resourceLogs[{i}]");
        let rl_obj = object(rl, &path)?;
        let resource = match field(rl_obj, "resource", "resource") {
            None => None,
            Some(r) => {
                let p = format!("{path}.resource");
                Some(Resource {
                    attributes: attributes(object(r, &p)?, &p, 0)?,
                    dropped_attributes_count: 0,
                })
            }
        };
        let mut scope_logs = Vec::new();
        for (j, sl) in array(rl_obj, "scopeLogs", "scope_logs", &path)?
            .iter()
            .enumerate()
        {
            let path = format!("{path}.scopeLogs[{j}]");
            let sl_obj = object(sl, &path)?;
            let scope = match field(sl_obj, "scope", "scope") {
                None => None,
                Some(s) => {
                    let p = format!("{path}.scope");
                    let s = object(s, &p)?;
                    Some(InstrumentationScope {
                        name: string(s, "name", "name", &p)?,
                        version: string(s, "version", "version", &p)?,
                        attributes: attributes(s, &p, 0)?,
                        dropped_attributes_count: 0,
                    })
                }
            };
            let mut log_records = Vec::new();
            for (k, r) in array(sl_obj, "logRecords", "log_records", &path)?
                .iter()
                .enumerate()
            {
                let path = format!("{path}.logRecords[{k}]");
                log_records.push(record(object(r, &path)?, &path)?);
            }
            scope_logs.push(ScopeLogs {
                scope,
                log_records,
                schema_url: String::new(),
            });
        }
        request.resource_logs.push(ResourceLogs {
            resource,
            scope_logs,
            schema_url: String::new(),
        });
    }
    Ok(request)
}

fn record(r: &Map<String, Value>, path: &str) -> Result<LogRecord, OtlpError> {
    Ok(LogRecord {
        time_unix_nano: uint(r, "timeUnixNano", "time_unix_nano", path)?,
        observed_time_unix_nano: uint(r, "observedTimeUnixNano", "observed_time_unix_nano", path)?,
        severity_number: severity(r, path)?,
        severity_text: string(r, "severityText", "severity_text", path)?,
        body: match field(r, "body", "body") {
            None => None,
            Some(b) => Some(any(b, &format!("{path}.body"), 0)?),
        },
        attributes: attributes(r, path, 0)?,
        dropped_attributes_count: 0,
        flags: u32::try_from(uint(r, "flags", "flags", path)?)
            .map_err(|_| bad(path, "flags", "is over 32 bits"))?,
        trace_id: hex_id(r, "traceId", "trace_id", path)?,
        span_id: hex_id(r, "spanId", "span_id", path)?,
        event_name: string(r, "eventName", "event_name", path)?,
    })
}

fn attributes(obj: &Map<String, Value>, path: &str, depth: usize) -> Result<Vec<KeyValue>, OtlpError> {
    key_values(
        array(obj, "attributes", "attributes", path)?,
        &format!("{path}.attributes"),
        depth,
    )
}

fn key_values(items: &[Value], path: &str, depth: usize) -> Result<Vec<KeyValue>, OtlpError> {
    items
        .iter()
        .enumerate()
        .map(|(i, kv)| {
            let p = format!("{path}[{i}]");
            let kv = object(kv, &p)?;
            Ok(KeyValue {
                key: string(kv, "key", "key", &p)?,
                value: match field(kv, "value", "value") {
                    None => None,
                    Some(v) => Some(any(v, &format!("{p}.value"), depth)?),
                },
            })
        })
        .collect()
}

fn any(v: &Value, path: &str, depth: usize) -> Result<AnyValue, OtlpError> {
    if depth > MAX_DEPTH {
        return Err(bad(path, "", "nests too deep"));
    }
    let obj = object(v, path)?;
    let value = if let Some(s) = field(obj, "stringValue", "string_value") {
        any_value::Value::StringValue(
            s.as_str()
                .ok_or_else(|| bad(path, "stringValue", "is not a string"))?
                .to_string(),
        )
    } else if let Some(b) = field(obj, "boolValue", "bool_value") {
        any_value::Value::BoolValue(
            b.as_bool()
                .ok_or_else(|| bad(path, "boolValue", "is not a boolean"))?,
        )
    } else if let Some(i) = field(obj, "intValue", "int_value") {
        any_value::Value::IntValue(int64(i).ok_or_else(|| bad(path, "intValue", "is not a 64-bit integer"))?)
    } else if let Some(d) = field(obj, "doubleValue", "double_value") {
        any_value::Value::DoubleValue(double(d).ok_or_else(|| bad(path, "doubleValue", "is not a number"))?)
    } else if let Some(a) = field(obj, "arrayValue", "array_value") {
        let p = format!("{path}.arrayValue");
        let values = array(object(a, &p)?, "values", "values", &p)?
            .iter()
            .enumerate()
            .map(|(i, v)| any(v, &format!("{p}.values[{i}]"), depth + 1))
            .collect::<Result<_, _>>()?;
        any_value::Value::ArrayValue(ArrayValue { values })
    } else if let Some(kv) = field(obj, "kvlistValue", "kvlist_value") {
        let p = format!("{path}.kvlistValue");
        let values = key_values(
            array(object(kv, &p)?, "values", "values", &p)?,
            &format!("{p}.values"),
            depth + 1,
        )?;
        any_value::Value::KvlistValue(KeyValueList { values })
    } else if let Some(b) = field(obj, "bytesValue", "bytes_value") {
        // Kept as the base64 text it arrived as: that is how bytes read
        // from protobuf are shown too.
        any_value::Value::StringValue(
            b.as_str()
                .ok_or_else(|| bad(path, "bytesValue", "is not a base64 string"))?
                .to_string(),
        )
    } else {
        return Ok(AnyValue { value: None });
    };
    Ok(AnyValue { value: Some(value) })
}

fn severity(r: &Map<String, Value>, path: &str) -> Result<i32, OtlpError> {
    match field(r, "severityNumber", "severity_number") {
        None => Ok(0),
        Some(Value::Number(n)) => n
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| bad(path, "severityNumber", "is not an integer")),
        Some(Value::String(name)) => {
            severity_by_name(name).ok_or_else(|| bad(path, "severityNumber", "is not a SeverityNumber name"))
        }
        Some(_) => Err(bad(path, "severityNumber", "is not a number")),
    }
}

/// `SEVERITY_NUMBER_WARN3` → 15.
fn severity_by_name(name: &str) -> Option<i32> {
    const BASES: [&str; 6] = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
    let rest = name.strip_prefix("SEVERITY_NUMBER_")?;
    if rest == "UNSPECIFIED" {
        return Some(0);
    }
    let digits = rest.trim_start_matches(|c: char| c.is_ascii_uppercase());
    let base = BASES
        .iter()
        .position(|b| *b == &rest[..rest.len() - digits.len()])? as i32;
    let step = match digits {
        "" => 0,
        "2" => 1,
        "3" => 2,
        "4" => 3,
        _ => return None,
    };
    Some(base * 4 + step + 1)
}

fn field<'a>(obj: &'a Map<String, Value>, camel: &str, snake: &str) -> Option<&'a Value> {
    obj.get(camel).or_else(|| obj.get(snake)).filter(|v| !v.is_null())
}

fn object<'a>(v: &'a Value, path: &str) -> Result<&'a Map<String, Value>, OtlpError> {
    v.as_object().ok_or_else(|| OtlpError::JsonField {
        path: path.to_string(),
        reason: "is not an object".to_string(),
    })
}

fn array<'a>(
    obj: &'a Map<String, Value>,
    camel: &str,
    snake: &str,
    path: &str,
) -> Result<&'a [Value], OtlpError> {
    match field(obj, camel, snake) {
        None => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(bad(path, camel, "is not an array")),
    }
}

fn string(obj: &Map<String, Value>, camel: &str, snake: &str, path: &str) -> Result<String, OtlpError> {
    match field(obj, camel, snake) {
        None => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(bad(path, camel, "is not a string")),
    }
}

fn uint(obj: &Map<String, Value>, camel: &str, snake: &str, path: &str) -> Result<u64, OtlpError> {
    match field(obj, camel, snake) {
        None => Ok(0),
        Some(Value::String(s)) => s
            .parse()
            .map_err(|_| bad(path, camel, "is not an unsigned integer")),
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| bad(path, camel, "is not an unsigned integer")),
        Some(_) => Err(bad(path, camel, "is not an unsigned integer")),
    }
}

fn int64(v: &Value) -> Option<i64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

fn double(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => match s.as_str() {
            "NaN" => Some(f64::NAN),
            "Infinity" => Some(f64::INFINITY),
            "-Infinity" => Some(f64::NEG_INFINITY),
            _ => None,
        },
        _ => None,
    }
}

fn hex_id(obj: &Map<String, Value>, camel: &str, snake: &str, path: &str) -> Result<Vec<u8>, OtlpError> {
    let text = string(obj, camel, snake, path)?;
    if text.len() % 2 != 0 {
        return Err(bad(path, camel, "is not hex"));
    }
    (0..text.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(text.get(i..i + 2).unwrap_or("zz"), 16)
                .map_err(|_| bad(path, camel, "is not hex"))
        })
        .collect()
}

fn bad(path: &str, field: &str, reason: &str) -> OtlpError {
    OtlpError::JsonField {
        path: if field.is_empty() {
            path.to_string()
        } else {
            format!("{path}.{field}")
        },
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::LevelHint;
    use crate::logs::ingest::otlp::{decode_protobuf, entries};
    use prost::Message;

    /// The OTLP/JSON example of opentelemetry-proto's `examples/logs.json`,
    /// shortened.
    const EXAMPLE: &str = r#"{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"my.service"}}]},
      "scopeLogs":[{"scope":{"name":"my.library","version":"1.0.0","attributes":[{"key":"my.scope.attribute","value":{"stringValue":"some scope attribute"}}]},
      "logRecords":[{"timeUnixNano":"1544712660300000000","observedTimeUnixNano":"1544712660300000000","severityNumber":10,"severityText":"Information",
        "traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"EEE19B7EC3C1B174","body":{"stringValue":"Example log record"},
        "attributes":[{"key":"string.attribute","value":{"stringValue":"some string"}},{"key":"boolean.attribute","value":{"boolValue":true}},
          {"key":"int.attribute","value":{"intValue":"10"}},{"key":"double.attribute","value":{"doubleValue":637.704}},
          {"key":"array.attribute","value":{"arrayValue":{"values":[{"stringValue":"many"},{"stringValue":"values"}]}}},
          {"key":"map.attribute","value":{"kvlistValue":{"values":[{"key":"some.map.key","value":{"stringValue":"some value"}}]}}}],
        "unknownField": 1},
        {"severityNumber":"SEVERITY_NUMBER_WARN3","body":{"kvlistValue":{"values":[{"key":"a","value":{"intValue":1}}]}}}]}]}]}"#;

    #[test]
    fn spec_example_decodes_like_its_protobuf() {
        let request = decode_json(EXAMPLE.as_bytes()).unwrap();
        let via_proto = decode_protobuf(&request.encode_to_vec()).unwrap();
        assert_eq!(request, via_proto);
        let out = entries(request);
        assert!(out.rejected.is_empty());
        let e = &out.entries[0];
        assert_eq!(e.timestamp_ns, Some(1_544_712_660_300_000_000));
        assert_eq!(e.level, Some(LevelHint::Otlp(10)));
        assert_eq!(e.line, "Example log record");
        assert_eq!(e.labels, vec![("service".to_string(), "my.service".to_string())]);
        assert_eq!(e.fields["trace_id"], "5b8efff798038103d269b633813fc60c");
        assert_eq!(e.fields["int.attribute"], 10);
        assert_eq!(e.fields["array.attribute"], serde_json::json!(["many", "values"]));
        assert_eq!(
            e.fields["map.attribute"],
            serde_json::json!({"some.map.key": "some value"})
        );
        assert_eq!(e.fields["scope.version"], "1.0.0");
        assert_eq!(out.entries[1].level, Some(LevelHint::Otlp(15)));
        assert_eq!(out.entries[1].line, r#"{"a":1}"#);
        assert_eq!(out.entries[1].timestamp_ns, None);
    }

    #[test]
    fn bad_json_names_the_path() {
        for (body, want) in [
            (r#"{"resourceLogs":{}}"#, "$.resourceLogs: is not an array"),
            (
                r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"timeUnixNano":"soon"}]}]}]}"#,
                "resourceLogs[0].scopeLogs[0].logRecords[0].timeUnixNano: is not an unsigned integer",
            ),
            (
                r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"xyz0"}]}]}]}"#,
                "traceId: is not hex",
            ),
            (
                r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"severityNumber":"LOUD"}]}]}]}"#,
                "not a SeverityNumber name",
            ),
            ("[", "not OTLP/JSON"),
        ] {
            let err = decode_json(body.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(want), "{err}");
        }
    }

    #[test]
    fn wrong_id_lengths_refuse_only_their_record() {
        let body = r#"{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"traceId":"abcd","body":{"stringValue":"a"}},{"spanId":"00","body":{"stringValue":"b"}},{"body":{"stringValue":"c"}}]}]}]}"#;
        let out = entries(decode_json(body.as_bytes()).unwrap());
        assert_eq!(out.entries.len(), 1);
        assert_eq!(out.entries[0].line, "c");
        let errors: Vec<String> = out.rejected.iter().map(|r| r.error.to_string()).collect();
        assert_eq!(
            errors,
            [
                "log record 0: traceId has 2 bytes, expected 16",
                "log record 1: spanId has 1 bytes, expected 8"
            ]
        );
    }
}
