//! The engine's self-metrics (`belfry_tsdb_*`), registered once per `Tsdb`.

use std::sync::Arc;

use crate::selfmetrics::{Counter, Gauge, Registry};

pub(crate) struct TsdbMetrics {
    pub appended_samples: Arc<Counter>,
    pub out_of_order_samples: Arc<Counter>,
    pub duplicate_samples: Arc<Counter>,
    pub too_old_samples: Arc<Counter>,
    pub invalid_label_samples: Arc<Counter>,
    pub head_series: Arc<Gauge>,
    pub head_chunks: Arc<Gauge>,
    pub series_created: Arc<Counter>,
    pub series_removed: Arc<Counter>,
    pub chunks_persisted: Arc<Counter>,
    pub persist_failures: Arc<Counter>,
    pub compactions: Arc<Counter>,
    pub compaction_failures: Arc<Counter>,
    pub retention_deleted_chunks: Arc<Counter>,
    pub retention_failures: Arc<Counter>,
    pub storage_bytes: Arc<Gauge>,
    pub store_reclaimed_bytes: Arc<Counter>,
    pub store_reclaims_deferred: Arc<Counter>,
    pub wal_replay_unknown_series: Arc<Counter>,
    pub backfill_samples: Arc<Counter>,
    pub backfill_skipped_samples: Arc<Counter>,
}

impl TsdbMetrics {
    pub(crate) fn new(r: &Registry) -> Self {
        TsdbMetrics {
            appended_samples: r.counter(
                "belfry_tsdb_appended_samples_total",
                "Samples appended to the head.",
            ),
            out_of_order_samples: r.counter(
                "belfry_tsdb_out_of_order_samples_total",
                "Samples refused because they were older than the series' last sample.",
            ),
            duplicate_samples: r.counter(
                "belfry_tsdb_duplicate_samples_total",
                "Samples refused because their timestamp was stored with a different value.",
            ),
            too_old_samples: r.counter(
                "belfry_tsdb_too_old_samples_total",
                "Samples refused because they were older than the head window or already persisted data.",
            ),
            invalid_label_samples: r.counter(
                "belfry_tsdb_invalid_label_samples_total",
                "Samples refused because their label set was invalid.",
            ),
            head_series: r.gauge("belfry_tsdb_head_series", "Series known to the head."),
            head_chunks: r.gauge(
                "belfry_tsdb_head_chunks",
                "Chunks held in memory (open and awaiting persistence).",
            ),
            series_created: r.counter("belfry_tsdb_series_created_total", "Series created."),
            series_removed: r.counter("belfry_tsdb_series_removed_total", "Series removed by retention."),
            chunks_persisted: r.counter(
                "belfry_tsdb_chunks_persisted_total",
                "Head chunks written to redb.",
            ),
            persist_failures: r.counter(
                "belfry_tsdb_persist_failures_total",
                "Failed attempts to write head chunks to redb.",
            ),
            compactions: r.counter(
                "belfry_tsdb_compactions_total",
                "Runs of XOR chunks re-encoded into pco chunks.",
            ),
            compaction_failures: r.counter(
                "belfry_tsdb_compaction_failures_total",
                "Failed compaction passes.",
            ),
            retention_deleted_chunks: r.counter(
                "belfry_tsdb_retention_deleted_chunks_total",
                "Persisted chunks deleted by time or size retention.",
            ),
            retention_failures: r.counter("belfry_tsdb_retention_failures_total", "Failed retention passes."),
            storage_bytes: r.gauge(
                "belfry_tsdb_storage_bytes",
                "Bytes on disk used by chunks.redb and the WAL.",
            ),
            store_reclaimed_bytes: r.counter(
                "belfry_tsdb_store_reclaimed_bytes_total",
                "Bytes chunks.redb shrank by when freed pages were given back after compaction or retention.",
            ),
            store_reclaims_deferred: r.counter(
                "belfry_tsdb_store_reclaims_deferred_total",
                "Attempts to shrink chunks.redb put off because a query was reading it.",
            ),
            wal_replay_unknown_series: r.counter(
                "belfry_tsdb_wal_replay_unknown_series_samples_total",
                "WAL samples skipped at replay because their series record was missing.",
            ),
            backfill_samples: r.counter(
                "belfry_tsdb_backfill_samples_total",
                "Samples written by backfill.",
            ),
            backfill_skipped_samples: r.counter(
                "belfry_tsdb_backfill_skipped_samples_total",
                "Backfill samples skipped because a sample with the same timestamp was stored.",
            ),
        }
    }

    pub(crate) fn count_refusal(&self, e: &crate::tsdb::AppendError) {
        use crate::tsdb::AppendError::*;
        match e {
            OutOfOrder => self.out_of_order_samples.inc(),
            Duplicate => self.duplicate_samples.inc(),
            TooOld => self.too_old_samples.inc(),
            InvalidLabels(_) => self.invalid_label_samples.inc(),
            // Not a refused sample: the caller appends it by labels instead.
            UnknownSeriesRef => {}
        }
    }
}
