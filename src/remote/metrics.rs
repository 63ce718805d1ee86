//! The `belfry_remote_storage_*` metrics, named after Prometheus's
//! `prometheus_remote_storage_*` and labelled `remote_name` and `url`.

use std::sync::Arc;

use crate::selfmetrics::{Counter, CounterVec, Gauge, GaugeVec, Registry};

/// The families, registered once per registry.
#[derive(Clone)]
pub struct RemoteMetrics {
    samples: Arc<CounterVec>,
    samples_failed: Arc<CounterVec>,
    samples_retried: Arc<CounterVec>,
    samples_dropped: Arc<CounterVec>,
    bytes: Arc<CounterVec>,
    metadata: Arc<CounterVec>,
    metadata_failed: Arc<CounterVec>,
    metadata_retried: Arc<CounterVec>,
    metadata_bytes: Arc<CounterVec>,
    batch_seconds_sum: Arc<GaugeVec>,
    batch_seconds_count: Arc<CounterVec>,
    highest_read: Arc<GaugeVec>,
    highest_sent: Arc<GaugeVec>,
    shards: Arc<GaugeVec>,
    shards_min: Arc<GaugeVec>,
    shards_max: Arc<GaugeVec>,
    pending: Arc<GaugeVec>,
    segment: Arc<GaugeVec>,
    holds_released: Arc<CounterVec>,
    segments_skipped: Arc<CounterVec>,
}

/// The children of one queue.
pub struct QueueMetrics {
    pub samples: Arc<Counter>,
    pub samples_failed: Arc<Counter>,
    pub samples_retried: Arc<Counter>,
    pub samples_dropped: Arc<Counter>,
    pub bytes: Arc<Counter>,
    pub metadata: Arc<Counter>,
    pub metadata_failed: Arc<Counter>,
    pub metadata_retried: Arc<Counter>,
    pub metadata_bytes: Arc<Counter>,
    pub batch_seconds_sum: Arc<Gauge>,
    pub batch_seconds_count: Arc<Counter>,
    pub highest_read: Arc<Gauge>,
    pub highest_sent: Arc<Gauge>,
    pub shards: Arc<Gauge>,
    pub shards_min: Arc<Gauge>,
    pub shards_max: Arc<Gauge>,
    pub pending: Arc<Gauge>,
    pub segment: Arc<Gauge>,
    pub holds_released: Arc<Counter>,
    pub segments_skipped: Arc<Counter>,
}

const LABELS: &[&str] = &["remote_name", "url"];

impl RemoteMetrics {
    pub fn new(r: &Registry) -> Self {
        let counter = |name: &str, help: &str| r.counter_vec(name, help, LABELS);
        let gauge = |name: &str, help: &str| r.gauge_vec(name, help, LABELS);
        RemoteMetrics {
            samples: counter(
                "belfry_remote_storage_samples_total",
                "Samples sent to remote storage and accepted.",
            ),
            samples_failed: counter(
                "belfry_remote_storage_samples_failed_total",
                "Samples refused by remote storage with an unrecoverable error (4xx), and dropped.",
            ),
            samples_retried: counter(
                "belfry_remote_storage_samples_retried_total",
                "Samples whose send failed recoverably (5xx, 429 when retried, network) and was retried.",
            ),
            samples_dropped: counter(
                "belfry_remote_storage_samples_dropped_total",
                "Samples not sent: dropped by write_relabel_configs, older than sample_age_limit, or of a series whose labels were not found.",
            ),
            bytes: counter(
                "belfry_remote_storage_bytes_total",
                "Compressed request bytes of samples sent and accepted.",
            ),
            metadata: counter(
                "belfry_remote_storage_metadata_total",
                "Metric metadata entries sent and accepted.",
            ),
            metadata_failed: counter(
                "belfry_remote_storage_metadata_failed_total",
                "Metadata entries refused with an unrecoverable error.",
            ),
            metadata_retried: counter(
                "belfry_remote_storage_metadata_retried_total",
                "Metadata entries whose send was retried.",
            ),
            metadata_bytes: counter(
                "belfry_remote_storage_metadata_bytes_total",
                "Compressed request bytes of metadata sent and accepted.",
            ),
            batch_seconds_sum: gauge(
                "belfry_remote_storage_sent_batch_duration_seconds_sum",
                "Seconds spent sending batches, retries included (sum).",
            ),
            batch_seconds_count: counter(
                "belfry_remote_storage_sent_batch_duration_seconds_count",
                "Batches sent (count, for the mean with the _sum).",
            ),
            highest_read: gauge(
                "belfry_remote_storage_highest_timestamp_in_seconds",
                "The newest sample timestamp the queue has read from the WAL.",
            ),
            highest_sent: gauge(
                "belfry_remote_storage_queue_highest_sent_timestamp_seconds",
                "The newest sample timestamp accepted by remote storage.",
            ),
            shards: gauge(
                "belfry_remote_storage_shards",
                "Shards the last round of samples was sent with.",
            ),
            shards_min: gauge("belfry_remote_storage_shards_min", "min_shards of the queue."),
            shards_max: gauge("belfry_remote_storage_shards_max", "max_shards of the queue."),
            pending: gauge(
                "belfry_remote_storage_samples_pending",
                "Samples read from the WAL and not yet accepted or dropped.",
            ),
            segment: gauge(
                "belfry_remote_storage_wal_segment",
                "The WAL segment the queue reads (its persisted position is at or before it).",
            ),
            holds_released: counter(
                "belfry_remote_storage_wal_holds_released_total",
                "Times the queue stopped holding WAL segments because remote storage was failing for longer than the hold limit, or held too many bytes.",
            ),
            segments_skipped: counter(
                "belfry_remote_storage_wal_segments_skipped_total",
                "WAL segments the queue could not read (deleted after its hold was released, or corrupt) and skipped.",
            ),
        }
    }

    pub fn queue(&self, name: &str, url: &str) -> QueueMetrics {
        let l = [name, url];
        QueueMetrics {
            samples: self.samples.with(&l),
            samples_failed: self.samples_failed.with(&l),
            samples_retried: self.samples_retried.with(&l),
            samples_dropped: self.samples_dropped.with(&l),
            bytes: self.bytes.with(&l),
            metadata: self.metadata.with(&l),
            metadata_failed: self.metadata_failed.with(&l),
            metadata_retried: self.metadata_retried.with(&l),
            metadata_bytes: self.metadata_bytes.with(&l),
            batch_seconds_sum: self.batch_seconds_sum.with(&l),
            batch_seconds_count: self.batch_seconds_count.with(&l),
            highest_read: self.highest_read.with(&l),
            highest_sent: self.highest_sent.with(&l),
            shards: self.shards.with(&l),
            shards_min: self.shards_min.with(&l),
            shards_max: self.shards_max.with(&l),
            pending: self.pending.with(&l),
            segment: self.segment.with(&l),
            holds_released: self.holds_released.with(&l),
            segments_skipped: self.segments_skipped.with(&l),
        }
    }

    /// Removes the gauges of queues that no longer exist (counters stay,
    /// as Prometheus's do until restart).
    pub fn retain_queues(&self, keep: impl Fn(&str, &str) -> bool) {
        for g in [
            &self.highest_read,
            &self.highest_sent,
            &self.shards,
            &self.shards_min,
            &self.shards_max,
            &self.pending,
            &self.segment,
        ] {
            g.retain(|v| keep(&v[0], &v[1]));
        }
    }
}
