//! `belfry_error_*`: events stored, refused by reason, envelope items
//! skipped by type, retries not stored again, tags over the limits.

use std::sync::Arc;

use crate::selfmetrics::{Counter, CounterVec, Registry};

/// Item types Sentry's SDKs send; any other is counted as `unknown`, so a
/// client cannot grow the label's values.
const KNOWN_ITEM_TYPES: &[&str] = &[
    "event",
    "transaction",
    "session",
    "sessions",
    "client_report",
    "check_in",
    "attachment",
    "feedback",
    "user_report",
    "profile",
    "profile_chunk",
    "replay_event",
    "replay_recording",
    "replay_video",
    "span",
    "log",
    "otel_log",
    "statsd",
    "metric_buckets",
];

pub struct ErrorMetrics {
    pub events: Arc<CounterVec>,
    pub rejected: Arc<CounterVec>,
    pub skipped: Arc<CounterVec>,
    pub duplicates: Arc<Counter>,
    pub tags_over_limit: Arc<CounterVec>,
}

impl ErrorMetrics {
    pub fn new(registry: &Registry) -> Self {
        ErrorMetrics {
            events: registry.counter_vec(
                "belfry_error_events_total",
                "Error events stored, by project, level, environment and release.",
                &["project", "level", "environment", "release"],
            ),
            rejected: registry.counter_vec(
                "belfry_error_events_rejected_total",
                "Error ingest requests or items refused, by reason.",
                &["reason"],
            ),
            skipped: registry.counter_vec(
                "belfry_error_envelope_items_skipped_total",
                "Envelope items not processed (types this version does not handle), by type.",
                &["type"],
            ),
            duplicates: registry.counter(
                "belfry_error_events_duplicate_total",
                "Error events acknowledged but not stored again, their event_id being stored already (SDK retries).",
            ),
            tags_over_limit: registry.counter_vec(
                "belfry_error_issue_tags_over_limit_total",
                "Tags an issue's tag summary did not keep: a key past the key limit, or a value counted as other.",
                &["kind"],
            ),
        }
    }

    pub fn skip(&self, item_type: &str) {
        let label = if KNOWN_ITEM_TYPES.contains(&item_type) {
            item_type
        } else {
            "unknown"
        };
        self.skipped.with(&[label]).inc();
    }
}
