//! Limits on what an ingest client controls. Each hit is counted in
//! `belfry_ingest_limit_hits_total{source, limit}`.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestLimits {
    /// Largest body after snappy or gzip decompression. Prometheus sends
    /// well under 1 MiB per request with default queue settings.
    pub max_decompressed_bytes: usize,
    /// Most float samples in one request or push (histograms and exemplars
    /// count too, though they are dropped).
    pub max_samples_per_request: usize,
    /// Most labels on a series, `__name__` included.
    pub max_labels_per_series: usize,
    pub max_label_name_bytes: usize,
    pub max_label_value_bytes: usize,
    /// Samples further ahead of the receive time are refused, as
    /// Prometheus's receiver does (it allows 10 minutes).
    pub max_future: Duration,
    /// Longest line of an import file; a longer one is an error rather
    /// than an unbounded buffer.
    pub max_line_bytes: usize,
}

impl Default for IngestLimits {
    fn default() -> Self {
        IngestLimits {
            max_decompressed_bytes: 32 << 20,
            max_samples_per_request: 1_000_000,
            max_labels_per_series: 64,
            max_label_name_bytes: 1024,
            max_label_value_bytes: 4096,
            max_future: Duration::from_secs(10 * 60),
            max_line_bytes: 1 << 20,
        }
    }
}

impl IngestLimits {
    pub(crate) fn max_future_ms(&self) -> i64 {
        i64::try_from(self.max_future.as_millis()).unwrap_or(i64::MAX)
    }
}
