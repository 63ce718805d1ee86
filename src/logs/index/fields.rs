//! The tantivy schema of a day index and the conversions between a
//! [`LogRecord`] and a tantivy document.
//!
//! `message`, `error` and the other fields are tokenized for full-text
//! search (words, lower-cased); `service`, `user`, `path` and the stream
//! labels are matched exactly. `timestamp`, `level`, `seq`, `status` and
//! `duration` are fast fields for sorting, counting and ranges. The
//! labels and other fields are also stored as one JSON text (`extra`),
//! read back verbatim.
//!
//! The request id is all but unique per record: as a term it cost about
//! 40 bytes a line in the dictionary, more than the rest of the index
//! together; user tokens, a few lines each, cost 7. From format 3 both
//! are only stored, each beside a 24-bit hash of it in a fast column
//! (`request_id_hash`, `user_hash`: 3 bytes a line), which a lookup scans
//! before checking each candidate's stored value ([`super::hashed`]).

use serde_json::{Map, Value};
use tantivy::schema::document::{ReferenceValue, ReferenceValueLeaf};
use tantivy::schema::{
    FAST, Field, IndexRecordOption, JsonObjectOptions, NumericOptions, OwnedValue, STORED, Schema,
    TextFieldIndexing, TextOptions, Value as _,
};
use tantivy::{DocAddress, Searcher, TantivyDocument};

use super::day::INDEX_FORMAT_VERSION;
use super::words::WORDS_TOKENIZER;
use crate::logs::schema::{Level, LogRecord};

/// The versions of a day index's schema (`format_version` in its meta
/// file).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum IndexFormat {
    /// `seq` and `timestamp` indexed as terms as well as fast.
    V1,
    /// `seq` and `timestamp` fast only.
    V2,
    /// The request id and user stored only, found through
    /// `request_id_hash` and `user_hash`; hex ids and long words of
    /// `message` and `error` indexed as marks (`super::words`);
    /// `duration` in whole nanoseconds (`u64`), which bit-packs where
    /// an `f64` column does not.
    V3,
}

impl IndexFormat {
    fn from_version(v: u32) -> Option<IndexFormat> {
        match v {
            1 => Some(IndexFormat::V1),
            2 => Some(IndexFormat::V2),
            3 => Some(IndexFormat::V3),
            _ => None,
        }
    }
}

/// Handles to the fields of the schema, which every day index shares.
#[derive(Clone, Debug)]
pub struct LogFields {
    pub schema: Schema,
    pub seq: Field,
    pub timestamp: Field,
    pub level: Field,
    pub service: Field,
    pub request_id: Field,
    pub user: Field,
    pub path: Field,
    pub status: Field,
    pub duration: Field,
    pub message: Field,
    pub error: Field,
    pub labels: Field,
    pub fields: Field,
    pub extra: Field,
    /// Only in days of format 3 and later ([`LogFields::hash_column`]).
    pub request_id_hash: Field,
    pub user_hash: Field,
}

/// The bits of a value's hash kept in a hash column: over 8 M lines a
/// request-id lookup meets about half a false candidate, which the check
/// of the stored value drops.
const VALUE_HASH_BITS: u32 = 24;

/// The value a hash column holds for `value`.
pub fn value_hash(value: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(value.as_bytes()) >> (64 - VALUE_HASH_BITS)
}

/// One line as search returns it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LogLine {
    /// The record's sequence number: its identity (for context).
    pub id: u64,
    /// As a string: JSON numbers lose nanoseconds past 2^53.
    #[serde(serialize_with = "as_string")]
    pub timestamp_ns: i64,
    pub level: Level,
    pub service: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub labels: Map<String, Value>,
    pub fields: Map<String, Value>,
}

pub fn as_string<S: serde::Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

impl LogFields {
    /// The schema new day indexes are created with.
    pub fn new() -> Self {
        LogFields::of_format(INDEX_FORMAT_VERSION).expect("the current format is a known one")
    }

    /// The schema a day index of `format` was written with. Every format
    /// has the same fields in the same order, so the handles of
    /// [`LogFields::new`] read and write days of every format.
    pub fn of_format(format: u32) -> Option<Self> {
        IndexFormat::from_version(format).map(LogFields::build)
    }

    fn build(format: IndexFormat) -> Self {
        // Results are ordered by time, never scored, so no field keeps
        // norms; the numbers are read from their fast columns, not stored.
        let exact = || {
            TextOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("raw")
                    .set_index_option(IndexRecordOption::Basic)
                    .set_fieldnorms(false),
            )
        };
        // Nothing is scored, so frequencies serve no query; positions
        // served phrases, which format 3 checks on the stored text of the
        // lines holding every word instead (a third of the postings).
        let words = || {
            let (tokenizer, record) = match format {
                IndexFormat::V1 | IndexFormat::V2 => ("default", IndexRecordOption::WithFreqsAndPositions),
                IndexFormat::V3 => (WORDS_TOKENIZER, IndexRecordOption::Basic),
            };
            TextFieldIndexing::default()
                .set_tokenizer(tokenizer)
                .set_index_option(record)
                .set_fieldnorms(false)
        };
        // `INDEXED` would add norms to the numbers too.
        let number = || NumericOptions::default().set_indexed().set_fast();
        // Sequence numbers and timestamps are all but unique per record:
        // as terms they cost a dictionary entry each, while every query on
        // them is a range (or a single id) that tantivy answers from the
        // fast column. Format 1 indexed them.
        let unique_number = || match format {
            IndexFormat::V1 => number(),
            IndexFormat::V2 | IndexFormat::V3 => NumericOptions::default().set_fast(),
        };
        let mut b = Schema::builder();
        let seq = b.add_u64_field("seq", unique_number());
        let timestamp = b.add_i64_field("timestamp", unique_number());
        let level = b.add_u64_field("level", number());
        let service = b.add_text_field("service", exact().set_stored().set_fast("raw"));
        let request_id = match format {
            IndexFormat::V1 | IndexFormat::V2 => b.add_text_field("request_id", exact().set_stored()),
            IndexFormat::V3 => b.add_text_field("request_id", STORED),
        };
        let user = match format {
            IndexFormat::V1 | IndexFormat::V2 => b.add_text_field("user", exact().set_stored()),
            IndexFormat::V3 => b.add_text_field("user", STORED),
        };
        let path = b.add_text_field("path", exact().set_stored());
        let status = b.add_u64_field("status", number());
        let duration = match format {
            IndexFormat::V1 | IndexFormat::V2 => b.add_f64_field("duration", FAST),
            IndexFormat::V3 => b.add_u64_field("duration", FAST),
        };
        let message = b.add_text_field(
            "message",
            TextOptions::default().set_indexing_options(words()).set_stored(),
        );
        let error = b.add_text_field(
            "error",
            TextOptions::default().set_indexing_options(words()).set_stored(),
        );
        let labels = b.add_json_field(
            "labels",
            JsonObjectOptions::default().set_indexing_options(
                TextFieldIndexing::default()
                    .set_tokenizer("raw")
                    .set_index_option(IndexRecordOption::Basic)
                    .set_fieldnorms(false),
            ),
        );
        // The other fields keep tantivy's tokenizer: their exact filters
        // look up each word of a value as a term.
        let fields = b.add_json_field(
            "fields",
            JsonObjectOptions::default().set_indexing_options(words().set_tokenizer("default")),
        );
        let extra = b.add_text_field("extra", STORED);
        // Added last, so the handles of every earlier field stay the same
        // in every format.
        let (request_id_hash, user_hash) = match format {
            IndexFormat::V1 | IndexFormat::V2 => (
                Field::from_field_id(extra.field_id() + 1),
                Field::from_field_id(extra.field_id() + 2),
            ),
            IndexFormat::V3 => (
                b.add_u64_field("request_id_hash", FAST),
                b.add_u64_field("user_hash", FAST),
            ),
        };
        LogFields {
            schema: b.build(),
            seq,
            timestamp,
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
            extra,
            request_id_hash,
            user_hash,
        }
    }

    /// The hash column of `field` in a day of this schema, when the day
    /// keeps that field's values as hashes (format 3) rather than terms.
    pub fn hash_column(&self, schema: &Schema, field: Field) -> Option<(Field, &'static str)> {
        let (hash, name) = if field == self.request_id {
            (self.request_id_hash, "request_id_hash")
        } else if field == self.user {
            (self.user_hash, "user_hash")
        } else {
            return None;
        };
        schema.get_field(name).is_ok().then_some((hash, name))
    }

    /// Whether a day of this schema indexes `message` and `error` with
    /// [`WORDS_TOKENIZER`], which marks the words it does not keep.
    pub fn marks_unindexed_words(&self, schema: &Schema) -> bool {
        match schema.get_field_entry(self.message).field_type() {
            tantivy::schema::FieldType::Str(o) => o
                .get_indexing_options()
                .is_some_and(|i| i.tokenizer() == WORDS_TOKENIZER),
            _ => false,
        }
    }

    /// Whether a day of this schema keeps the positions of words, which
    /// phrase queries need (formats 1 and 2).
    pub fn has_positions(&self, schema: &Schema) -> bool {
        match schema.get_field_entry(self.message).field_type() {
            tantivy::schema::FieldType::Str(o) => o
                .get_indexing_options()
                .is_some_and(|i| i.index_option() == IndexRecordOption::WithFreqsAndPositions),
            _ => false,
        }
    }

    /// Whether a day of this schema keeps durations as nanoseconds.
    fn duration_in_ns(&self, schema: &Schema) -> bool {
        matches!(
            schema.get_field_entry(self.duration).field_type(),
            tantivy::schema::FieldType::U64(_)
        )
    }

    /// The document of record `seq` for a day whose schema is `schema`
    /// (days keep the format they were created in).
    pub fn document(&self, schema: &Schema, seq: u64, r: &LogRecord) -> TantivyDocument {
        let mut d = TantivyDocument::new();
        d.add_u64(self.seq, seq);
        d.add_i64(self.timestamp, r.timestamp_ns);
        d.add_u64(self.level, r.level as u64);
        d.add_text(self.service, &r.service);
        for (field, v) in [
            (self.request_id, &r.request_id),
            (self.user, &r.user),
            (self.path, &r.path),
        ] {
            if let Some(v) = v {
                d.add_text(field, v);
            }
        }
        if let Some(s) = r.status {
            d.add_u64(self.status, u64::from(s));
        }
        if let Some(x) = r.duration {
            if self.duration_in_ns(schema) {
                d.add_u64(self.duration, seconds_to_ns(x));
            } else {
                d.add_f64(self.duration, x);
            }
        }
        for (field, v) in [(self.request_id, &r.request_id), (self.user, &r.user)] {
            if let (Some(v), Some((hash, _))) = (v, self.hash_column(schema, field)) {
                d.add_u64(hash, value_hash(v));
            }
        }
        d.add_text(self.message, &r.message);
        if let Some(e) = &r.error {
            d.add_text(self.error, e);
        }
        if !r.labels.is_empty() || !r.fields.is_empty() {
            if !r.labels.is_empty() {
                let labels = r
                    .labels
                    .iter()
                    .map(|(k, v)| (k.clone(), OwnedValue::from(Value::String(v.clone()))))
                    .collect();
                d.add_field_value(self.labels, &OwnedValue::Object(labels));
            }
            if !r.fields.is_empty() {
                d.add_field_value(self.fields, JsonRef::Object(&r.fields));
            }
            // Written straight from the record: no JSON value is built.
            let extra = Extra {
                labels: Labels(&r.labels),
                fields: &r.fields,
            };
            d.add_text(self.extra, serde_json::to_string(&extra).unwrap_or_default());
        }
        d
    }

    /// The line at `addr`: texts from the doc store, numbers from their
    /// fast columns.
    pub fn line(&self, searcher: &Searcher, addr: DocAddress) -> tantivy::Result<LogLine> {
        let d: TantivyDocument = searcher.doc(addr)?;
        let fast = searcher.segment_reader(addr.segment_ord).fast_fields();
        let doc = addr.doc_id;
        let text = |f: Field| d.get_first(f).and_then(|v| v.as_str()).map(str::to_string);
        let (labels, fields) = match text(self.extra).and_then(|t| serde_json::from_str::<Value>(&t).ok()) {
            Some(Value::Object(mut m)) => {
                let take = |m: &mut Map<String, Value>, k: &str| match m.remove(k) {
                    Some(Value::Object(o)) => o,
                    _ => Map::new(),
                };
                (take(&mut m, "labels"), take(&mut m, "fields"))
            }
            _ => (Map::new(), Map::new()),
        };
        Ok(LogLine {
            id: fast.u64("seq")?.first(doc).unwrap_or(0),
            timestamp_ns: fast.i64("timestamp")?.first(doc).unwrap_or(0),
            level: fast
                .u64("level")?
                .first(doc)
                .and_then(Level::from_index)
                .unwrap_or(Level::Info),
            service: text(self.service).unwrap_or_default(),
            request_id: text(self.request_id),
            user: text(self.user),
            path: text(self.path),
            status: fast.u64("status")?.first(doc).and_then(|s| u16::try_from(s).ok()),
            duration: if self.duration_in_ns(searcher.schema()) {
                fast.u64("duration")?.first(doc).map(ns_to_seconds)
            } else {
                fast.f64("duration")?.first(doc)
            },
            message: text(self.message).unwrap_or_default(),
            error: text(self.error),
            labels,
            fields,
        })
    }
}

/// A record's JSON, borrowed, as tantivy reads a value: the document
/// takes the fields without an owned copy being built first (the record
/// keeps them for the stored `extra` and for a retry). Leaves read as
/// tantivy reads a `serde_json::Value` (an RFC 3339 string is a date),
/// which is what converting to [`OwnedValue`] did.
#[derive(Clone, Copy, Debug)]
enum JsonRef<'a> {
    Object(&'a Map<String, Value>),
    Value(&'a Value),
}

type JsonRefEntry<'a> = (&'a String, &'a Value);

impl<'a> tantivy::schema::Value<'a> for JsonRef<'a> {
    type ArrayIter = std::iter::Map<std::slice::Iter<'a, Value>, fn(&'a Value) -> JsonRef<'a>>;
    type ObjectIter =
        std::iter::Map<serde_json::map::Iter<'a>, fn(JsonRefEntry<'a>) -> (&'a str, JsonRef<'a>)>;

    fn as_value(&self) -> ReferenceValue<'a, Self> {
        fn entry<'a>((k, v): JsonRefEntry<'a>) -> (&'a str, JsonRef<'a>) {
            (k.as_str(), JsonRef::Value(v))
        }
        let object = |m: &'a Map<String, Value>| ReferenceValue::Object(m.iter().map(entry as fn(_) -> _));
        match *self {
            JsonRef::Object(m) => object(m),
            JsonRef::Value(Value::Object(m)) => object(m),
            JsonRef::Value(Value::Array(a)) => {
                ReferenceValue::Array(a.iter().map(JsonRef::Value as fn(_) -> _))
            }
            JsonRef::Value(leaf) => match leaf.as_value() {
                ReferenceValue::Leaf(l) => ReferenceValue::Leaf(l),
                ReferenceValue::Array(_) | ReferenceValue::Object(_) => {
                    ReferenceValue::Leaf(ReferenceValueLeaf::Null)
                }
            },
        }
    }
}

/// Whole nanoseconds; negative and non-finite durations (which the
/// mapping never makes) become 0.
fn seconds_to_ns(s: f64) -> u64 {
    let ns = (s * 1e9).round();
    if ns.is_finite() && ns > 0.0 { ns as u64 } else { 0 }
}

fn ns_to_seconds(ns: u64) -> f64 {
    ns as f64 / 1e9
}

/// The stored `extra` text: `{"labels": {…}, "fields": {…}}`.
#[derive(serde::Serialize)]
struct Extra<'a> {
    labels: Labels<'a>,
    fields: &'a Map<String, Value>,
}

/// Sorted, unique stream labels as a JSON object.
struct Labels<'a>(&'a [(String, String)]);

impl serde::Serialize for Labels<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

impl Default for LogFields {
    fn default() -> Self {
        LogFields::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_has_the_same_fields_in_the_same_order() {
        let current = LogFields::new();
        assert_eq!(
            LogFields::of_format(INDEX_FORMAT_VERSION).unwrap().schema,
            current.schema
        );
        let v1 = LogFields::of_format(1).unwrap();
        let v2 = LogFields::of_format(2).unwrap();
        let names = |s: &Schema| {
            s.fields()
                .map(|(f, e)| (f, e.name().to_string()))
                .collect::<Vec<_>>()
        };
        // Format 3 only adds a field after the others.
        let mut current_names = names(&current.schema);
        assert_eq!(current_names.pop().map(|(_, n)| n).as_deref(), Some("user_hash"));
        assert_eq!(
            current_names.pop().map(|(_, n)| n).as_deref(),
            Some("request_id_hash")
        );
        assert_eq!(names(&v1.schema), current_names);
        assert_eq!(names(&v2.schema), current_names);
        assert_eq!(v1.request_id_hash, current.request_id_hash);
        assert_eq!(v1.user_hash, current.user_hash);
        for field in [current.request_id, current.user] {
            assert!(current.hash_column(&current.schema, field).is_some());
            assert!(current.hash_column(&v2.schema, field).is_none());
            assert!(!current.schema.get_field_entry(field).is_indexed());
            assert!(v2.schema.get_field_entry(field).is_indexed());
        }
        assert!(current.hash_column(&current.schema, current.path).is_none());
        assert_ne!(v1.schema, current.schema);
        assert!(v1.schema.get_field_entry(v1.seq).is_indexed());
        assert!(!current.schema.get_field_entry(current.seq).is_indexed());
        assert!(!current.schema.get_field_entry(current.timestamp).is_indexed());
        assert!(current.schema.get_field_entry(current.timestamp).is_fast());
        assert!(LogFields::of_format(0).is_none());
        assert!(LogFields::of_format(INDEX_FORMAT_VERSION + 1).is_none());
    }

    #[test]
    fn extra_holds_labels_and_fields_as_one_json_object() {
        let f = LogFields::new();
        let mut fields = Map::new();
        fields.insert("course".into(), Value::from(7));
        let r = LogRecord {
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
            labels: vec![("app".into(), "lms".into()), ("env".into(), "prod".into())],
            fields,
        };
        let d = f.document(&f.schema, 3, &r);
        let extra = d.get_first(f.extra).and_then(|v| v.as_str()).unwrap();
        let v: Value = serde_json::from_str(extra).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"labels": {"app": "lms", "env": "prod"}, "fields": {"course": 7}})
        );
    }

    #[test]
    fn borrowed_fields_are_what_tantivys_conversion_makes() {
        let f = LogFields::new();
        let v = serde_json::json!({"a": 1, "b": -2, "c": 1.5, "d": u64::MAX, "e": "x",
            "f": [true, null, [1, "2025-12-05T12:00:00Z"], {"k": "v"}], "g": {"h": "i"},
            "t": "2025-12-05T12:00:00Z", "n": null, "z": "2025-13-45"});
        let Value::Object(m) = v.clone() else {
            unreachable!()
        };
        let mut borrowed = TantivyDocument::new();
        borrowed.add_field_value(f.fields, JsonRef::Object(&m));
        let mut owned = TantivyDocument::new();
        owned.add_field_value(f.fields, &OwnedValue::from(v));
        let values = |d: &TantivyDocument| {
            d.get_all(f.fields)
                .map(|v| OwnedValue::from(v.as_value()))
                .collect::<Vec<_>>()
        };
        assert_eq!(values(&borrowed), values(&owned));
        assert!(matches!(
            values(&borrowed)[0],
            OwnedValue::Object(ref o) if o.iter().any(|(k, v)| k == "t" && matches!(v, OwnedValue::Date(_)))
        ));
    }

    #[test]
    fn durations_keep_nanoseconds_and_read_back_as_the_same_seconds() {
        for s in [0.0125, 0.25, 1e-9, 0.0203, 12.345678901, 3600.0] {
            assert_eq!(ns_to_seconds(seconds_to_ns(s)), s, "{s}");
        }
        assert_eq!(seconds_to_ns(-1.0), 0);
        assert_eq!(seconds_to_ns(f64::NAN), 0);
    }

    #[test]
    fn value_hashes_fit_their_bits_and_differ() {
        let a = value_hash("7d0c1f7e-0b1a-4a53-9a8e-3c2f9f0a1b2c");
        let b = value_hash("0a9b8c7d-6e5f-4a3b-8c1d-2e3f4a5b6c7d");
        assert!(a < 1 << VALUE_HASH_BITS && b < 1 << VALUE_HASH_BITS);
        assert_ne!(a, b);
        assert_eq!(a, value_hash("7d0c1f7e-0b1a-4a53-9a8e-3c2f9f0a1b2c"));
    }
}
