//! The logs store's self-metrics (`belfry_logs_*`).

use std::sync::Arc;
use std::time::Duration;

use crate::selfmetrics::{Counter, CounterVec, DISK_LATENCY_BUCKETS, Gauge, GaugeVec, Histogram, Registry};

/// How long something takes, as a histogram so dashboards can graph the
/// tail (`histogram_quantile`) and not only the mean.
pub struct Latency(Arc<Histogram>);

impl Latency {
    fn new(r: &Registry, name: &str, what: &str) -> Self {
        Latency(r.histogram(name, &format!("Seconds taken by {what}."), DISK_LATENCY_BUCKETS))
    }

    pub fn observe(&self, d: Duration) {
        self.0.observe_duration(d);
    }

    pub fn count(&self) -> u64 {
        self.0.count()
    }
}

pub struct LogsMetrics {
    /// `{source, level}`.
    pub ingested: Arc<CounterVec>,
    /// `{source}`: bytes of accepted records.
    pub ingested_bytes: Arc<CounterVec>,
    /// `{reason}`: records refused whole (malformed line, too old,
    /// backpressure, batch too large).
    pub rejected: Arc<CounterVec>,
    /// `{reason}`: records kept but cut (`line_too_long`).
    pub truncated: Arc<Counter>,
    pub wal_bytes_written: Arc<Counter>,
    pub wal_fsync: Latency,
    pub wal_repairs: Arc<Counter>,
    pub wal_segments: Arc<Gauge>,
    pub wal_bytes: Arc<Gauge>,
    pub index_commit: Latency,
    pub index_commit_failures: Arc<Counter>,
    /// Records waiting for the index.
    pub pending_bytes: Arc<Gauge>,
    /// `{reason}`: `age` or `size`.
    pub retention_deleted: Arc<CounterVec>,
    pub retention_days_dropped: Arc<CounterVec>,
    /// `{day}`.
    pub disk_bytes_by_day: Arc<GaugeVec>,
    /// `{level}`.
    pub disk_bytes_by_level: Arc<GaugeVec>,
    /// `{level}`: records in the index.
    pub records_by_level: Arc<GaugeVec>,
    /// `{limit}`: searches stopped by `logs.query` (`max_lines_read`, `timeout`).
    pub search_limit_hits: Arc<CounterVec>,
}

impl LogsMetrics {
    pub fn new(r: &Registry) -> Self {
        LogsMetrics {
            ingested: r.counter_vec(
                "belfry_logs_ingested_total",
                "Log records accepted (durable in the logs WAL), by ingest path and normalized level.",
                &["source", "level"],
            ),
            ingested_bytes: r.counter_vec(
                "belfry_logs_ingested_bytes_total",
                "Bytes of log records accepted, by ingest path.",
                &["source"],
            ),
            rejected: r.counter_vec(
                "belfry_logs_rejected_total",
                "Log records refused: reason is malformed (a line, item, stream, record, chunk or frame that \
                 does not decode), too_large (a listener's message or frame over max_message_bytes), too_old \
                 (older than the longest retention), too_far_in_future, backpressure (the index is behind) or \
                 batch_too_large.",
                &["reason"],
            ),
            truncated: r.counter(
                "belfry_logs_truncated_total",
                "Log records whose message or error was cut to logs.limits.max_line_bytes.",
            ),
            wal_bytes_written: r.counter(
                "belfry_logs_wal_bytes_written_total",
                "Bytes appended to logs WAL segments, framing included.",
            ),
            wal_fsync: Latency::new(
                r,
                "belfry_logs_wal_fsync_duration_seconds",
                "fsync of logs WAL segments",
            ),
            wal_repairs: r.counter(
                "belfry_logs_wal_repairs_total",
                "Logs WAL segments cut back to their last good frame, or batches skipped as undecodable, at open.",
            ),
            wal_segments: r.gauge("belfry_logs_wal_segments", "Logs WAL segment files on disk."),
            wal_bytes: r.gauge("belfry_logs_wal_bytes", "Bytes of logs WAL segments on disk."),
            index_commit: Latency::new(
                r,
                "belfry_logs_index_commit_duration_seconds",
                "logs index commits (adding the batch and committing every day index it touched)",
            ),
            index_commit_failures: r.counter(
                "belfry_logs_index_commit_failures_total",
                "Logs index commits that failed; their records stay in the WAL and are retried.",
            ),
            pending_bytes: r.gauge(
                "belfry_logs_pending_bytes",
                "Bytes of log records durable in the WAL but not yet committed to the index.",
            ),
            retention_deleted: r.counter_vec(
                "belfry_logs_retention_deleted_total",
                "Log records deleted by retention: reason is age (past their level's retention) or size \
                 (logs.retention_size).",
                &["reason"],
            ),
            retention_days_dropped: r.counter_vec(
                "belfry_logs_retention_days_dropped_total",
                "Whole day indexes deleted by retention, by reason (age or size).",
                &["reason"],
            ),
            disk_bytes_by_day: r.gauge_vec(
                "belfry_logs_disk_bytes",
                "Bytes on disk of each day's logs index.",
                &["day"],
            ),
            disk_bytes_by_level: r.gauge_vec(
                "belfry_logs_disk_bytes_by_level",
                "Bytes on disk of the logs index attributed to each level (each day's size shared out by \
                 its records' levels; an estimate, as an index does not store levels apart).",
                &["level"],
            ),
            records_by_level: r.gauge_vec(
                "belfry_logs_records",
                "Log records in the index, by level.",
                &["level"],
            ),
            search_limit_hits: r.counter_vec(
                "belfry_logs_search_limit_hits_total",
                "Searches of /api/belfry/logs/search refused by a logs.query limit: max_lines_read (the stored \
                 lines read to check words or filters the index holds only approximately) or timeout.",
                &["limit"],
            ),
        }
    }
}
