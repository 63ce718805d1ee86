//! `logs.limits`: what protects memory and disk at ingest.

use serde::Deserialize;

use super::ByteSize;

/// Below this a line cannot hold a useful message plus the marker.
const MIN_LINE_BYTES: u64 = 256;

#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogLimitsConfig {
    /// A message (or error text) longer than this is cut and marked as
    /// truncated; the cut is counted.
    #[serde(default = "default_max_line_bytes")]
    pub max_line_bytes: ByteSize,
    /// Most records one request may carry.
    #[serde(default = "default_max_batch_lines")]
    pub max_batch_lines: u64,
    /// Bytes written to the WAL but not yet committed to the index above
    /// which ingest is refused (429, `Retry-After`) until the index
    /// catches up: a slow disk must not grow memory without bound.
    #[serde(default = "default_max_pending_bytes")]
    pub max_pending_bytes: ByteSize,
}

fn default_max_line_bytes() -> ByteSize {
    ByteSize(64 << 10)
}

fn default_max_batch_lines() -> u64 {
    100_000
}

fn default_max_pending_bytes() -> ByteSize {
    ByteSize(64 << 20)
}

impl Default for LogLimitsConfig {
    fn default() -> Self {
        LogLimitsConfig {
            max_line_bytes: default_max_line_bytes(),
            max_batch_lines: default_max_batch_lines(),
            max_pending_bytes: default_max_pending_bytes(),
        }
    }
}

impl LogLimitsConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.max_line_bytes.0 < MIN_LINE_BYTES {
            return Err(format!(
                "max_line_bytes must be at least {MIN_LINE_BYTES}B, got {}",
                self.max_line_bytes
            ));
        }
        if self.max_batch_lines == 0 {
            return Err("max_batch_lines must be positive".into());
        }
        if self.max_pending_bytes.0 < self.max_line_bytes.0 {
            return Err(format!(
                "max_pending_bytes ({}) must be at least max_line_bytes ({})",
                self.max_pending_bytes, self.max_line_bytes
            ));
        }
        Ok(())
    }
}
