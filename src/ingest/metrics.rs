//! Self-metrics of the ingest paths (`belfry_ingest_*`, `belfry_remote_write_*`).

use std::sync::Arc;

use crate::selfmetrics::{Counter, CounterVec, Registry};

use super::error::{ErrorKind, IngestError};
use super::outcome::{RejectReason, WriteOutcome};

/// Which ingest path did the work; the `source` label of every metric here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    RemoteWrite,
    TextPush,
    Import,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::RemoteWrite => "remote_write",
            Source::TextPush => "text_push",
            Source::Import => "import",
        }
    }
}

/// Counters shared by the ingest paths; build one per server with
/// [`IngestMetrics::new`] and hand out references.
pub struct IngestMetrics {
    samples_appended: Arc<CounterVec>,
    samples_rejected: Arc<CounterVec>,
    limit_hits: Arc<CounterVec>,
    failures: Arc<CounterVec>,
    backfill_skipped: Arc<Counter>,
    exemplars_dropped: Arc<Counter>,
    histograms_dropped: Arc<Counter>,
}

impl IngestMetrics {
    pub fn new(registry: &Registry) -> Self {
        IngestMetrics {
            samples_appended: registry.counter_vec(
                "belfry_ingest_samples_appended_total",
                "Samples stored by remote write, text push and import.",
                &["source"],
            ),
            samples_rejected: registry.counter_vec(
                "belfry_ingest_samples_rejected_total",
                "Samples refused by remote write, text push and import, by reason.",
                &["source", "reason"],
            ),
            limit_hits: registry.counter_vec(
                "belfry_ingest_limit_hits_total",
                "Times an ingest limit refused a request, a series or a sample.",
                &["source", "limit"],
            ),
            failures: registry.counter_vec(
                "belfry_ingest_failures_total",
                "Ingest calls that failed as a whole (or partly, kind=bad_request), by kind.",
                &["source", "kind"],
            ),
            backfill_skipped: registry.counter(
                "belfry_ingest_backfill_samples_skipped_total",
                "Imported samples skipped because storage already had a sample at that time.",
            ),
            exemplars_dropped: registry.counter(
                "belfry_remote_write_exemplars_dropped_total",
                "Remote-write exemplars received and not kept (their series refused or without samples, or refused by the exemplar store).",
            ),
            histograms_dropped: registry.counter(
                "belfry_remote_write_histograms_dropped_total",
                "Remote-write native histogram samples received and dropped (not stored).",
            ),
        }
    }

    pub(crate) fn record_outcome(&self, source: Source, outcome: &WriteOutcome) {
        self.record_appended(source, outcome.samples_appended);
        self.record_rejections(source, &outcome.rejections);
        self.exemplars_dropped.add(outcome.exemplars_dropped as u64);
        self.histograms_dropped.add(outcome.histograms_dropped as u64);
    }

    pub(crate) fn record_appended(&self, source: Source, samples: usize) {
        if samples > 0 {
            self.samples_appended.with(&[source.as_str()]).add(samples as u64);
        }
    }

    pub(crate) fn record_backfill_skipped(&self, samples: usize) {
        self.backfill_skipped.add(samples as u64);
    }

    pub(crate) fn record_rejections(&self, source: Source, rejections: &super::outcome::Rejections) {
        for reason in RejectReason::ALL {
            let samples = rejections.samples(reason);
            if samples > 0 {
                self.samples_rejected
                    .with(&[source.as_str(), reason.as_str()])
                    .add(samples as u64);
            }
            // Series-level limits count once per refused series; the future
            // limit once per refused sample.
            let hits = match reason {
                RejectReason::TooFarInFuture => samples,
                _ => rejections.series(reason),
            };
            if let (Some(limit), true) = (reason.limit_name(), hits > 0) {
                self.limit_hits.with(&[source.as_str(), limit]).add(hits as u64);
            }
        }
    }

    /// Counts a failed call, and the limit it hit if any. Outcomes of
    /// partial writes are counted by the call itself, not here.
    pub(crate) fn record_error(&self, source: Source, err: &IngestError) {
        let kind = match err.kind() {
            ErrorKind::BadRequest => "bad_request",
            ErrorKind::PayloadTooLarge => "payload_too_large",
            ErrorKind::UnsupportedMediaType => "unsupported_media_type",
            ErrorKind::Internal => "internal",
        };
        self.failures.with(&[source.as_str(), kind]).inc();
        let limit = match err {
            IngestError::LineTooLong { .. } => Some("line_length"),
            IngestError::TooLarge { .. } => Some("decompressed_size"),
            IngestError::TooManySamples { .. } => Some("samples_per_request"),
            _ => None,
        };
        if let Some(limit) = limit {
            self.limit_hits.with(&[source.as_str(), limit]).inc();
        }
    }
}
