//! The neutral form every ingest path produces: a log record as a shipper
//! sent it, before the schema normalizes its level, pulls out the guide's
//! fields, anonymizes and scrubs it.
//!
//! Each protocol's decoder (Loki push, Elasticsearch bulk, OTLP, GELF,
//! syslog, files, NDJSON) only has to say what it received; what the fields
//! *mean* is decided once, in the schema, so the same spelling of a level or
//! a service name means the same thing whichever way it arrived.

use serde_json::{Map, Value};

/// One record as received.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Entry {
    /// Nanoseconds since the Unix epoch as the sender stated it; `None`
    /// when it stated none (the receiver then uses the arrival time).
    pub timestamp_ns: Option<i64>,
    /// The labels that name the stream: Loki's stream labels, or what a
    /// protocol uses to say where a record comes from (syslog's host and
    /// app name, GELF's `host`, OTLP's `service.name`, a file's `labels`).
    pub labels: Vec<(String, String)>,
    /// The log line: Loki's line, a document's `message`, GELF's
    /// `short_message`, syslog's MSG, a file's (joined) line.
    pub line: String,
    /// The level as the protocol expressed it, when it did.
    pub level: Option<LevelHint>,
    /// Everything else the sender attached: Loki's structured metadata, an
    /// Elasticsearch document's other fields, OTLP attributes, GELF's
    /// additional fields, syslog's structured data.
    pub fields: Map<String, Value>,
}

/// A level in the sender's own terms; the schema maps each onto Belfry's
/// five levels.
#[derive(Debug, Clone, PartialEq)]
pub enum LevelHint {
    /// A word: `WARN`, `warning`, `err`, `fatal`, `E`, …
    Text(String),
    /// A syslog severity, 0 (emergency) … 7 (debug); GELF uses these too.
    Syslog(u8),
    /// An OpenTelemetry severity number, 1 (TRACE) … 24 (FATAL4).
    Otlp(i32),
}
