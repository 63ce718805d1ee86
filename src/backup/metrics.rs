//! Self-metrics of backups.

use std::sync::Arc;

use crate::selfmetrics::{Counter, CounterVec, GaugeVec, Registry};

pub struct BackupMetrics {
    /// Backups by result: `ok`, `failed`, `refused` (one was running).
    pub backups: Arc<CounterVec>,
    pub bytes: Arc<Counter>,
    /// How long the last backup held up each store's background work
    /// (`logs_index_commits`, `metrics_wal_checkpoints`); writers never wait.
    pub pause: Arc<GaugeVec>,
}

impl BackupMetrics {
    pub fn new(r: &Registry) -> Self {
        BackupMetrics {
            backups: r.counter_vec(
                "belfry_backups_total",
                "Backups requested, by result: ok, failed, or refused because one was running.",
                &["result"],
            ),
            bytes: r.counter(
                "belfry_backup_bytes_total",
                "Bytes of data files streamed by backups.",
            ),
            pause: r.gauge_vec(
                "belfry_backup_pause_seconds",
                "How long the last backup held up a store's background work while it took its files (ingest never waits), by what waited.",
                &["what"],
            ),
        }
    }
}
