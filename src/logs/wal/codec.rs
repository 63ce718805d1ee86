//! The byte encoding of a batch of log records inside one WAL frame:
//! `[u64 LE first sequence number][u32 LE record count]` then each record
//! as `[i64 ts][u8 level][u8 presence bits][str service][str? request_id]
//! [str? user][str? path][u16? status][f64? duration][str message]
//! [str? error][u32 label count]([str name][str value])*[str fields JSON]`,
//! where `str` is `[u32 LE length][UTF-8 bytes]` and `?` marks a value
//! written only when its presence bit is set. Records of a batch carry
//! consecutive sequence numbers.

use serde_json::{Map, Value};

use crate::logs::schema::{Level, LogRecord};

const HAS_REQUEST_ID: u8 = 1;
const HAS_USER: u8 = 1 << 1;
const HAS_PATH: u8 = 1 << 2;
const HAS_STATUS: u8 = 1 << 3;
const HAS_DURATION: u8 = 1 << 4;
const HAS_ERROR: u8 = 1 << 5;

/// Why a batch did not decode (its frame's CRC was right, so this is a
/// bug or a format mismatch, never a torn write).
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("undecodable log batch: {0}")]
pub struct CodecError(pub String);

pub fn encode_batch(out: &mut Vec<u8>, first_seq: u64, records: &[LogRecord]) {
    out.extend_from_slice(&first_seq.to_le_bytes());
    out.extend_from_slice(&(records.len() as u32).to_le_bytes());
    for r in records {
        encode_record(out, r);
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

fn encode_record(out: &mut Vec<u8>, r: &LogRecord) {
    out.extend_from_slice(&r.timestamp_ns.to_le_bytes());
    out.push(r.level as u8);
    let mut bits = 0;
    for (present, bit) in [
        (r.request_id.is_some(), HAS_REQUEST_ID),
        (r.user.is_some(), HAS_USER),
        (r.path.is_some(), HAS_PATH),
        (r.status.is_some(), HAS_STATUS),
        (r.duration.is_some(), HAS_DURATION),
        (r.error.is_some(), HAS_ERROR),
    ] {
        if present {
            bits |= bit;
        }
    }
    out.push(bits);
    put_str(out, &r.service);
    for s in [&r.request_id, &r.user, &r.path].into_iter().flatten() {
        put_str(out, s);
    }
    if let Some(s) = r.status {
        out.extend_from_slice(&s.to_le_bytes());
    }
    if let Some(d) = r.duration {
        out.extend_from_slice(&d.to_le_bytes());
    }
    put_str(out, &r.message);
    if let Some(e) = &r.error {
        put_str(out, e);
    }
    out.extend_from_slice(&(r.labels.len() as u32).to_le_bytes());
    for (k, v) in &r.labels {
        put_str(out, k);
        put_str(out, v);
    }
    put_fields(out, &r.fields);
}

/// The fields' JSON as a `str`, serialized straight into `out` (no text
/// built first): its length is written once it is known.
fn put_fields(out: &mut Vec<u8>, fields: &Map<String, Value>) {
    let at = out.len();
    out.extend_from_slice(&0u32.to_le_bytes());
    if !fields.is_empty() {
        // Writing a map of JSON values into a `Vec` cannot fail.
        let _ = serde_json::to_writer(&mut *out, fields);
    }
    let len = (out.len() - at - 4) as u32;
    out[at..at + 4].copy_from_slice(&len.to_le_bytes());
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CodecError> {
        if self.buf.len() < n {
            return Err(CodecError(format!(
                "needs {n} more bytes, {} left",
                self.buf.len()
            )));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], CodecError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }
    fn u8(&mut self) -> Result<u8, CodecError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, CodecError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn string(&mut self) -> Result<String, CodecError> {
        let n = self.u32()? as usize;
        let bytes = self.take(n)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| CodecError("a text is not UTF-8".into()))
    }
}

pub fn decode_batch(buf: &[u8]) -> Result<Vec<(u64, LogRecord)>, CodecError> {
    let mut r = Reader { buf };
    let first = u64::from_le_bytes(r.array()?);
    let count = r.u32()? as usize;
    // Each record takes at least 30 bytes: a corrupt count must not
    // make us reserve gigabytes.
    let mut out = Vec::with_capacity(count.min(buf.len() / 30 + 1));
    for i in 0..count {
        out.push((first + i as u64, decode_record(&mut r)?));
    }
    if !r.buf.is_empty() {
        return Err(CodecError(format!("{} bytes after the last record", r.buf.len())));
    }
    Ok(out)
}

fn decode_record(r: &mut Reader<'_>) -> Result<LogRecord, CodecError> {
    let timestamp_ns = i64::from_le_bytes(r.array()?);
    let level_byte = r.u8()?;
    let level =
        Level::from_index(u64::from(level_byte)).ok_or_else(|| CodecError(format!("level {level_byte}")))?;
    let bits = r.u8()?;
    let service = r.string()?;
    let opt = |bit: u8, r: &mut Reader<'_>| -> Result<Option<String>, CodecError> {
        if bits & bit != 0 {
            r.string().map(Some)
        } else {
            Ok(None)
        }
    };
    let request_id = opt(HAS_REQUEST_ID, r)?;
    let user = opt(HAS_USER, r)?;
    let path = opt(HAS_PATH, r)?;
    let status = if bits & HAS_STATUS != 0 {
        Some(u16::from_le_bytes(r.array()?))
    } else {
        None
    };
    let duration = if bits & HAS_DURATION != 0 {
        Some(f64::from_le_bytes(r.array()?))
    } else {
        None
    };
    let message = r.string()?;
    let error = opt(HAS_ERROR, r)?;
    let n_labels = r.u32()? as usize;
    let mut labels = Vec::with_capacity(n_labels.min(1024));
    for _ in 0..n_labels {
        labels.push((r.string()?, r.string()?));
    }
    let json = r.string()?;
    let fields = if json.is_empty() {
        Map::new()
    } else {
        match serde_json::from_str(&json) {
            Ok(Value::Object(m)) => m,
            _ => return Err(CodecError("the other fields are not a JSON object".into())),
        }
    };
    Ok(LogRecord {
        timestamp_ns,
        level,
        service,
        request_id,
        user,
        path,
        status,
        duration,
        message,
        error,
        labels,
        fields,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub fn arb_record() -> impl Strategy<Value = LogRecord> {
        (
            (
                any::<i64>(),
                0u64..5,
                ".{0,8}",
                proptest::option::of(".{0,8}"),
                proptest::option::of(".{0,8}"),
            ),
            (
                proptest::option::of("/[a-z/]{0,10}"),
                proptest::option::of(100u16..600),
                proptest::option::of(0f64..1e6),
                ".{0,40}",
                proptest::option::of(".{0,40}"),
            ),
            prop::collection::vec(("[a-z_]{1,6}", ".{0,6}"), 0..4),
            prop::collection::btree_map("[a-z]{1,5}", any::<i32>(), 0..4),
        )
            .prop_map(
                |(
                    (ts, l, service, request_id, user),
                    (path, status, duration, message, error),
                    labels,
                    fields,
                )| {
                    LogRecord {
                        timestamp_ns: ts,
                        level: Level::from_index(l).unwrap(),
                        service,
                        request_id,
                        user,
                        path,
                        status,
                        duration,
                        message,
                        error,
                        labels,
                        fields: fields.into_iter().map(|(k, v)| (k, Value::from(v))).collect(),
                    }
                },
            )
    }

    #[test]
    fn the_fields_are_their_json_text_behind_its_length() {
        let mut record = LogRecord {
            timestamp_ns: 1,
            level: Level::Info,
            service: "api".into(),
            request_id: None,
            user: None,
            path: None,
            status: None,
            duration: None,
            message: "m".into(),
            error: None,
            labels: Vec::new(),
            fields: Map::new(),
        };
        let mut empty = Vec::new();
        encode_batch(&mut empty, 1, std::slice::from_ref(&record));
        assert_eq!(empty[empty.len() - 4..], [0, 0, 0, 0]);
        record.fields.insert("course".into(), Value::from(7));
        record.fields.insert("logger".into(), Value::from("lms.api"));
        let mut buf = Vec::new();
        encode_batch(&mut buf, 1, std::slice::from_ref(&record));
        let json = br#"{"course":7,"logger":"lms.api"}"#;
        let (head, text) = buf.split_at(buf.len() - json.len());
        assert_eq!(text, json);
        assert_eq!(head[head.len() - 4..], (json.len() as u32).to_le_bytes());
        assert_eq!(head[..head.len() - 4], empty[..empty.len() - 4]);
    }

    proptest! {
        #[test]
        fn batches_round_trip(first in 0u64..1 << 60, records in prop::collection::vec(arb_record(), 0..6)) {
            let mut buf = Vec::new();
            encode_batch(&mut buf, first, &records);
            let back = decode_batch(&buf).unwrap();
            prop_assert_eq!(back.len(), records.len());
            for (i, ((seq, r), orig)) in back.into_iter().zip(&records).enumerate() {
                prop_assert_eq!(seq, first + i as u64);
                prop_assert_eq!(&r, orig);
            }
        }

        #[test]
        fn garbage_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode_batch(&bytes);
        }

        #[test]
        fn a_cut_batch_is_an_error(records in prop::collection::vec(arb_record(), 1..4), cut in 1usize..50) {
            let mut buf = Vec::new();
            encode_batch(&mut buf, 7, &records);
            let keep = buf.len().saturating_sub(cut);
            prop_assert!(decode_batch(&buf[..keep]).is_err());
        }
    }
}
