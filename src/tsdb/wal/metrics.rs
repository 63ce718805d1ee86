//! The WAL's self-metrics.

use std::sync::Arc;

use crate::selfmetrics::{Counter, Gauge, Registry};

pub(super) struct WalMetrics {
    pub bytes_written: Arc<Counter>,
    pub fsyncs: Arc<Counter>,
    pub records_written: Arc<Counter>,
    pub corruptions: Arc<Counter>,
    pub truncations: Arc<Counter>,
    pub segments: Arc<Gauge>,
    pub checkpoints: Arc<Counter>,
    /// A float sum of seconds; the registry's counters are integers, so
    /// this is a gauge that only ever grows.
    pub fsync_seconds: Arc<Gauge>,
    pub oversized_records: Arc<Counter>,
}

impl WalMetrics {
    pub fn new(r: &Registry) -> Self {
        WalMetrics {
            bytes_written: r.counter(
                "belfry_wal_bytes_written_total",
                "Bytes appended to WAL segments, framing included.",
            ),
            fsyncs: r.counter("belfry_wal_fsyncs_total", "fsync calls on WAL segment files."),
            records_written: r.counter("belfry_wal_records_written_total", "Records appended to the WAL."),
            corruptions: r.counter(
                "belfry_wal_corruptions_total",
                "Corrupt WAL records found (bad checksum, bad length, undecodable, missing segment).",
            ),
            truncations: r.counter(
                "belfry_wal_truncations_total",
                "WAL segments truncated to their last good record at open.",
            ),
            segments: r.gauge("belfry_wal_segments", "WAL segment files on disk."),
            checkpoints: r.counter("belfry_wal_checkpoints_total", "WAL checkpoints completed."),
            fsync_seconds: r.gauge(
                "belfry_wal_fsync_duration_seconds_total",
                "Seconds spent in fsync of WAL segments.",
            ),
            oversized_records: r.counter(
                "belfry_wal_oversized_records_total",
                "WAL records refused for exceeding the record size limit.",
            ),
        }
    }
}
