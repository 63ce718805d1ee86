//! One GELF message: gzip, zlib or plain JSON (told apart by the first
//! bytes, as Graylog does), then the fields of GELF 1.1: `host` becomes a
//! label, `short_message` the line, `level` (syslog severity) the level,
//! `timestamp` (seconds, fractional) the time, `full_message` and each
//! `_additional` field (without its underscore) fields; GELF 1.0's
//! `facility` the service when none is named.

use std::io::Read;

use serde_json::{Map, Value};

use super::GelfError;
use crate::logs::schema::aliases;
use crate::logs::{Entry, LevelHint, json_kind};

/// `limit` bounds the decompressed size (a gzip bomb stops there).
pub fn decode_payload(payload: &[u8], limit: usize) -> Result<Entry, GelfError> {
    let json = decompress(payload, limit)?;
    let Value::Object(map) =
        serde_json::from_slice::<Value>(&json).map_err(|e| GelfError::Json(e.to_string()))?
    else {
        return Err(GelfError::Json("not an object".to_string()));
    };
    entry(map)
}

fn decompress(payload: &[u8], limit: usize) -> Result<Vec<u8>, GelfError> {
    let kind = match payload {
        [] => return Err(GelfError::Empty),
        [0x1f, 0x8b, ..] => "gzip",
        [a, b, ..] if a & 0x0f == 8 && (u16::from(*a) << 8 | u16::from(*b)) % 31 == 0 => "zlib",
        _ => {
            if payload.len() > limit {
                return Err(GelfError::TooLarge { limit });
            }
            return Ok(payload.to_vec());
        }
    };
    let reader: Box<dyn Read + '_> = if kind == "gzip" {
        Box::new(flate2::read::MultiGzDecoder::new(payload))
    } else {
        Box::new(flate2::read::ZlibDecoder::new(payload))
    };
    let mut out = Vec::new();
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| GelfError::Decompress {
            kind,
            reason: e.to_string(),
        })?;
    if out.len() > limit {
        return Err(GelfError::TooLarge { limit });
    }
    Ok(out)
}

/// GELF 1.0's field naming the sending program.
const FACILITY: &str = "facility";

fn entry(map: Map<String, Value>) -> Result<Entry, GelfError> {
    let mut line = None;
    let mut labels = Vec::new();
    let mut level = None;
    let mut timestamp_ns = None;
    let mut fields = Map::new();
    for (key, value) in map {
        match key.as_str() {
            "short_message" => match value {
                Value::String(s) => line = Some(s),
                _ => return Err(GelfError::NoShortMessage),
            },
            "host" => match value {
                Value::String(s) => labels.push(("host".to_string(), s)),
                other => return Err(type_error("host", &other, "a string")),
            },
            "level" => {
                let n = value
                    .as_u64()
                    .filter(|n| *n <= 7)
                    .ok_or_else(|| type_error("level", &value, "a syslog severity 0–7"))?;
                level = Some(LevelHint::Syslog(n as u8));
            }
            "timestamp" => {
                let secs = value
                    .as_f64()
                    .ok_or_else(|| type_error("timestamp", &value, "seconds since the epoch"))?;
                // Microsecond precision is what a double holds for today's
                // dates; rounding there keeps `1.000001` from becoming
                // `1.000000999`.
                let micros = (secs * 1e6).round();
                if !micros.is_finite() || micros.abs() >= 9.2e15 {
                    return Err(type_error("timestamp", &value, "seconds since the epoch"));
                }
                timestamp_ns = Some(micros as i64 * 1000);
            }
            "version" => {}
            _ => {
                let name = key.strip_prefix('_').filter(|k| !k.is_empty()).unwrap_or(&key);
                fields.insert(name.to_string(), value);
            }
        }
    }
    // GELF 1.0's `facility` (1.1 deprecates it; graypy still sends it as
    // `_facility`, holding the logger's name) names the sender: it is the
    // service when the message names none.
    if !aliases::SERVICE.iter().any(|name| fields.contains_key(*name))
        && let Some(facility) = fields.remove(FACILITY)
    {
        fields.insert("service".to_string(), facility);
    }
    // GELF 1.1 makes `level` optional with ALERT (1) as its default; most
    // senders set it, and a missing one is better left to the schema's
    // default than read as an alert.
    Ok(Entry {
        timestamp_ns,
        labels,
        line: line.ok_or(GelfError::NoShortMessage)?,
        level,
        fields,
    })
}

fn type_error(field: &'static str, value: &Value, expected: &'static str) -> GelfError {
    // A number where a number belongs is one out of its range.
    let found = match value {
        Value::Number(_) => "a number out of range",
        other => json_kind(other),
    };
    GelfError::FieldType {
        field,
        found,
        expected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn graypy_zlib_udp_payload() {
        let e = decode_payload(
            include_bytes!("../../../../tests/fixtures/logs/gelf_graypy_udp_zlib.bin"),
            1 << 20,
        )
        .unwrap();
        assert_eq!(e.line, "udp gelf error");
        assert_eq!(e.level, Some(LevelHint::Syslog(3)));
        assert_eq!(e.labels[0].0, "host");
        assert_eq!(e.fields.get("request_id"), Some(&Value::String("r-2".into())));
        assert_eq!(e.fields.get("user_id"), Some(&Value::String("42".into())));
        assert!(e.timestamp_ns.unwrap() > 1_700_000_000_000_000_000);
    }

    #[test]
    fn facility_names_the_service_when_nothing_else_does() {
        let graypy = br#"{"version":"1.1","host":"h","short_message":"m","_facility":"lms-gelf"}"#;
        let e = decode_payload(graypy, 4096).unwrap();
        assert_eq!(e.fields.get("service"), Some(&Value::String("lms-gelf".into())));
        assert_eq!(e.fields.get("facility"), None, "kept once, as the service");
        let old = br#"{"version":"1.0","host":"h","short_message":"m","facility":"cron"}"#;
        let e = decode_payload(old, 4096).unwrap();
        assert_eq!(e.fields.get("service"), Some(&Value::String("cron".into())));
        let named = br#"{"version":"1.1","host":"h","short_message":"m","_facility":"f","_app":"lms"}"#;
        let e = decode_payload(named, 4096).unwrap();
        assert_eq!(e.fields.get("service"), None);
        assert_eq!(e.fields.get("facility"), Some(&Value::String("f".into())));
    }

    #[test]
    fn gzip_plain_and_fields() {
        let json = br#"{"version":"1.1","host":"web-1","short_message":"boom","full_message":"trace\nline","timestamp":1385053862.3072,"level":1,"_user_id":9001,"_some_info":"foo","_":"x"}"#;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(json).unwrap();
        let gz = gz.finish().unwrap();
        let a = decode_payload(json, 4096).unwrap();
        let b = decode_payload(&gz, 4096).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.timestamp_ns, Some(1_385_053_862_307_200_000));
        assert_eq!(
            a.fields.get("full_message"),
            Some(&Value::String("trace\nline".into()))
        );
        assert_eq!(a.fields.get("user_id"), Some(&serde_json::json!(9001)));
        assert_eq!(a.fields.get("_"), Some(&Value::String("x".into())));
    }

    #[test]
    fn bad_payloads() {
        let cases: [(&[u8], &str); 6] = [
            (b"", "empty"),
            (br#"{"host":"h"}"#, "short_message"),
            (
                br#"{"short_message":"m","level":9}"#,
                "level is a number out of range, expected a syslog severity",
            ),
            (
                br#"{"short_message":"m","timestamp":"x"}"#,
                "timestamp is a string",
            ),
            (b"[1]", "not an object"),
            (b"\x1f\x8b\x08garbage", "gzip payload does not decompress"),
        ];
        for (payload, want) in cases {
            let err = decode_payload(payload, 4096).unwrap_err().to_string();
            assert!(err.contains(want), "{err}");
        }
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(&vec![b' '; 100_000]).unwrap();
        let bomb = z.finish().unwrap();
        assert_eq!(
            decode_payload(&bomb, 4096),
            Err(GelfError::TooLarge { limit: 4096 })
        );
    }
}
