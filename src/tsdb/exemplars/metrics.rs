//! The exemplar store's self-metrics, named after Prometheus's
//! `prometheus_tsdb_exemplar_*` so dashboards translate one to one, plus
//! the refusals Prometheus only logs.

use std::sync::Arc;

use crate::selfmetrics::{Counter, CounterVec, Gauge, Registry};

pub(super) struct ExemplarMetrics {
    pub appended: Arc<Counter>,
    pub in_storage: Arc<Gauge>,
    pub series_in_storage: Arc<Gauge>,
    pub last_timestamp: Arc<Gauge>,
    pub out_of_order: Arc<Counter>,
    pub max_exemplars: Arc<Gauge>,
    pub refused: Arc<CounterVec>,
}

impl ExemplarMetrics {
    pub(super) fn new(r: &Registry) -> Self {
        ExemplarMetrics {
            appended: r.counter(
                "belfry_tsdb_exemplar_exemplars_appended_total",
                "Exemplars appended to the exemplar store.",
            ),
            in_storage: r.gauge(
                "belfry_tsdb_exemplar_exemplars_in_storage",
                "Exemplars currently held by the exemplar store.",
            ),
            series_in_storage: r.gauge(
                "belfry_tsdb_exemplar_series_with_exemplars_in_storage",
                "Series with at least one exemplar in the exemplar store.",
            ),
            last_timestamp: r.gauge(
                "belfry_tsdb_exemplar_last_exemplars_timestamp_seconds",
                "Timestamp of the oldest exemplar in the store: how far back the ring currently reaches.",
            ),
            out_of_order: r.counter(
                "belfry_tsdb_exemplar_out_of_order_exemplars_total",
                "Exemplars refused because they were older than the newest exemplar of their series.",
            ),
            max_exemplars: r.gauge(
                "belfry_tsdb_exemplar_max_exemplars",
                "Exemplars the store can hold (storage.exemplars.max_exemplars).",
            ),
            refused: r.counter_vec(
                "belfry_tsdb_exemplar_exemplars_refused_total",
                "Exemplars not kept, by reason: disabled (max_exemplars is 0), label_set_too_long (over 128 characters), out_of_order.",
                &["reason"],
            ),
        }
    }
}
