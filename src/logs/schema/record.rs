//! Belfry's log record: the guide's fields pulled out and typed, the rest
//! kept as JSON. This is what the WAL stores and the index makes
//! searchable.

use serde_json::{Map, Value};

/// Counts what is written to it; sizes a value's JSON without building it.
struct ByteCounter(usize);

impl std::io::Write for ByteCounter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

use super::Level;

#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    /// Nanoseconds since the Unix epoch (UTC).
    pub timestamp_ns: i64,
    pub level: Level,
    /// Empty when the sender named no service.
    pub service: String,
    pub request_id: Option<String>,
    /// The anonymized token, never the raw id.
    pub user: Option<String>,
    /// The endpoint or URL path.
    pub path: Option<String>,
    /// The HTTP status the line reports.
    pub status: Option<u16>,
    /// Seconds.
    pub duration: Option<f64>,
    pub message: String,
    /// Error details, scrubbed.
    pub error: Option<String>,
    /// The stream labels, sorted by name.
    pub labels: Vec<(String, String)>,
    /// Every other field the sender attached.
    pub fields: Map<String, Value>,
}

impl LogRecord {
    /// Roughly the bytes the record stands for: what the size limits and
    /// the ingest byte counter measure.
    pub fn approx_bytes(&self) -> usize {
        let opt = |s: &Option<String>| s.as_ref().map_or(0, String::len);
        let labels: usize = self.labels.iter().map(|(k, v)| k.len() + v.len() + 2).sum();
        let fields = if self.fields.is_empty() {
            0
        } else {
            let mut counter = ByteCounter(0);
            // Writing into a counter cannot fail.
            let _ = serde_json::to_writer(&mut counter, &self.fields);
            counter.0
        };
        40 + self.service.len()
            + opt(&self.request_id)
            + opt(&self.user)
            + opt(&self.path)
            + self.message.len()
            + opt(&self.error)
            + labels
            + fields
    }
}
