//! Loki's `logproto.PushRequest` (pkg/push/push.proto), written by hand
//! with prost derives as `crate::prompb` is, and its snappy block framing.
//! Strings are `bytes` so that invalid UTF-8 costs only the stream or line
//! that holds it, not the whole request.

use serde_json::{Map, Value};

use super::{LokiError, check_labels, parse_labels};
use crate::logs::Entry;
use crate::logs::ingest::Decoded;

#[derive(Clone, PartialEq, prost::Message)]
pub struct PushRequest {
    #[prost(message, repeated, tag = "1")]
    pub streams: Vec<StreamAdapter>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct StreamAdapter {
    /// A selector's text: `{app="lms"}`.
    #[prost(bytes = "vec", tag = "1")]
    pub labels: Vec<u8>,
    #[prost(message, repeated, tag = "2")]
    pub entries: Vec<EntryAdapter>,
    #[prost(uint64, tag = "3")]
    pub hash: u64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct EntryAdapter {
    #[prost(message, optional, tag = "1")]
    pub timestamp: Option<Timestamp>,
    #[prost(bytes = "vec", tag = "2")]
    pub line: Vec<u8>,
    #[prost(message, repeated, tag = "3")]
    pub structured_metadata: Vec<LabelPairAdapter>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct LabelPairAdapter {
    #[prost(bytes = "vec", tag = "1")]
    pub name: Vec<u8>,
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// `google.protobuf.Timestamp`.
#[derive(Clone, Copy, PartialEq, prost::Message)]
pub struct Timestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// A `Content-Type: application/x-protobuf` body: snappy block format,
/// decompressed only when its declared size is within `max_decompressed`.
pub fn decode_snappy(body: &[u8], max_decompressed: usize) -> Result<Decoded<LokiError>, LokiError> {
    let size = snap::raw::decompress_len(body).map_err(|e| LokiError::Snappy(e.to_string()))?;
    if size > max_decompressed {
        return Err(LokiError::TooLarge {
            size,
            limit: max_decompressed,
        });
    }
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| LokiError::Snappy(e.to_string()))?;
    decode_protobuf(&raw)
}

/// Items are streams, as in the JSON body.
pub fn decode_protobuf(raw: &[u8]) -> Result<Decoded<LokiError>, LokiError> {
    let push =
        <PushRequest as prost::Message>::decode(raw).map_err(|e| LokiError::Protobuf(e.to_string()))?;
    let mut out = Decoded::default();
    for (i, stream) in push.streams.into_iter().enumerate() {
        let labels = match std::str::from_utf8(&stream.labels)
            .map_err(|_| LokiError::LabelUtf8)
            .and_then(parse_labels)
            .and_then(|l| check_labels(&l).map(|()| l))
        {
            Ok(labels) => labels,
            Err(e) => {
                out.reject(i, e);
                continue;
            }
        };
        for (j, entry) in stream.entries.into_iter().enumerate() {
            let Some(ts) = entry.timestamp else {
                out.reject(
                    i,
                    LokiError::Entry {
                        entry: j,
                        reason: "no timestamp".to_string(),
                    },
                );
                continue;
            };
            let Some(timestamp_ns) = ts
                .seconds
                .checked_mul(1_000_000_000)
                .and_then(|s| s.checked_add(i64::from(ts.nanos)))
            else {
                out.reject(
                    i,
                    LokiError::Entry {
                        entry: j,
                        reason: format!("timestamp {}s is out of range", ts.seconds),
                    },
                );
                continue;
            };
            let mut fields = Map::new();
            for pair in entry.structured_metadata {
                fields.insert(
                    String::from_utf8_lossy(&pair.name).into_owned(),
                    Value::String(String::from_utf8_lossy(&pair.value).into_owned()),
                );
            }
            out.entries.push(Entry {
                timestamp_ns: Some(timestamp_ns),
                labels: labels.clone(),
                // A stray byte in a log line is the sender's data, not a
                // reason to lose the line.
                line: String::from_utf8_lossy(&entry.line).into_owned(),
                level: None,
                fields,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    fn request() -> PushRequest {
        let entry = |s, line: &str, meta: &[(&str, &str)]| EntryAdapter {
            timestamp: Some(Timestamp { seconds: s, nanos: 5 }),
            line: line.as_bytes().to_vec(),
            structured_metadata: meta
                .iter()
                .map(|(n, v)| LabelPairAdapter {
                    name: n.as_bytes().to_vec(),
                    value: v.as_bytes().to_vec(),
                })
                .collect(),
        };
        PushRequest {
            streams: vec![
                StreamAdapter {
                    labels: br#"{service="lms-api", env="prod"}"#.to_vec(),
                    entries: vec![
                        entry(1_700_000_000, "hello", &[("trace_id", "0af7")]),
                        entry(i64::MAX, "too late", &[]),
                        EntryAdapter {
                            timestamp: None,
                            line: b"no ts".to_vec(),
                            structured_metadata: vec![],
                        },
                        entry(1_700_000_001, "bad \u{fffd} byte", &[]),
                    ],
                    hash: 0,
                },
                StreamAdapter {
                    labels: b"{service=lms}".to_vec(),
                    entries: vec![entry(1, "x", &[])],
                    hash: 0,
                },
                StreamAdapter {
                    labels: br#"{a="1", a="2"}"#.to_vec(),
                    entries: vec![entry(1, "x", &[])],
                    hash: 0,
                },
            ],
        }
    }

    #[test]
    fn snappy_protobuf_round_trip_with_per_item_errors() {
        let raw = request().encode_to_vec();
        let body = snap::raw::Encoder::new().compress_vec(&raw).unwrap();
        let out = decode_snappy(&body, 1 << 20).unwrap();
        assert_eq!(out.entries.len(), 2);
        let e = &out.entries[0];
        assert_eq!(e.timestamp_ns, Some(1_700_000_000_000_000_005));
        assert_eq!(e.line, "hello");
        assert_eq!(
            e.labels,
            vec![
                ("env".to_string(), "prod".to_string()),
                ("service".to_string(), "lms-api".to_string())
            ]
        );
        assert_eq!(e.fields.get("trace_id"), Some(&Value::String("0af7".into())));
        let errors: Vec<String> = out
            .rejected
            .iter()
            .map(|r| format!("{}: {}", r.item, r.error))
            .collect();
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].starts_with("0: entry 1: timestamp"), "{errors:?}");
        assert_eq!(errors[1], "0: entry 2: no timestamp");
        assert!(
            errors[2].starts_with("1: stream labels \"{service=lms}\" do not parse at byte 9"),
            "{errors:?}"
        );
        assert_eq!(errors[3], "2: label \"a\" appears twice in one stream");
    }

    #[test]
    fn invalid_utf8_line_is_kept_lossily() {
        let mut req = request();
        req.streams[0].entries[3].line = b"bad \xff byte".to_vec();
        let out = decode_protobuf(&req.encode_to_vec()).unwrap();
        assert_eq!(out.entries[1].line, "bad \u{fffd} byte");
    }

    #[test]
    fn limits_and_garbage() {
        let raw = request().encode_to_vec();
        let body = snap::raw::Encoder::new().compress_vec(&raw).unwrap();
        assert!(matches!(
            decode_snappy(&body, 10),
            Err(LokiError::TooLarge { limit: 10, .. })
        ));
        assert!(matches!(
            decode_snappy(b"\xff\xff\xff\xff\xff", 1 << 20),
            Err(LokiError::Snappy(_))
        ));
        assert!(matches!(
            decode_protobuf(b"\x0a\xff"),
            Err(LokiError::Protobuf(_))
        ));
    }
}
