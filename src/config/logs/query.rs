//! `logs.query`: what one LogQL query may spend. A query that would pass
//! a limit is stopped with an error naming the key.

use serde::Deserialize;

use super::ByteSize;
use crate::model::PromDuration;

#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogQueryConfig {
    /// Most series a metric query may produce.
    #[serde(default = "default_max_series")]
    pub max_series: usize,
    /// Most lines a query may read and run through its pipeline (lines
    /// only counted from the index may be ten times as many).
    #[serde(default = "default_max_lines_read")]
    pub max_lines_read: u64,
    /// Most bytes of lines a query may read.
    #[serde(default = "default_max_bytes_read")]
    pub max_bytes_read: ByteSize,
    /// Most lines a log query may return (Loki's `max_entries_limit_per_query`).
    #[serde(default = "default_max_entries")]
    pub max_entries: usize,
    #[serde(default = "default_timeout")]
    pub timeout: PromDuration,
}

fn default_max_series() -> usize {
    10_000
}

fn default_max_lines_read() -> u64 {
    20_000_000
}

fn default_max_bytes_read() -> ByteSize {
    ByteSize(4 << 30)
}

fn default_max_entries() -> usize {
    5000
}

fn default_timeout() -> PromDuration {
    PromDuration(std::time::Duration::from_secs(60))
}

impl Default for LogQueryConfig {
    fn default() -> Self {
        LogQueryConfig {
            max_series: default_max_series(),
            max_lines_read: default_max_lines_read(),
            max_bytes_read: default_max_bytes_read(),
            max_entries: default_max_entries(),
            timeout: default_timeout(),
        }
    }
}

impl LogQueryConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.max_series == 0 {
            return Err("max_series: must be positive".into());
        }
        if self.max_lines_read == 0 {
            return Err("max_lines_read: must be positive".into());
        }
        if self.max_bytes_read.0 == 0 {
            return Err("max_bytes_read: must be positive".into());
        }
        if self.max_entries == 0 {
            return Err("max_entries: must be positive".into());
        }
        if self.timeout.is_zero() {
            return Err("timeout: must be positive".into());
        }
        Ok(())
    }
}
