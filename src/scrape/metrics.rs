//! The scraper's own metrics (`belfry_scrape_*`, `belfry_sd_*`).

use std::sync::Arc;

use crate::selfmetrics::{Counter, CounterVec, Registry};
use crate::tsdb::AppendError;

use super::label_limit::LabelLimit;

pub struct ScrapeMetrics {
    pub scrapes: Arc<Counter>,
    pub failures: Arc<Counter>,
    pub sample_limit_exceeded: Arc<Counter>,
    /// By `limit`: `label_limit`, `label_name_length_limit` or
    /// `label_value_length_limit`.
    pub label_limit_exceeded: Arc<CounterVec>,
    pub body_size_limit_exceeded: Arc<Counter>,
    pub out_of_order: Arc<Counter>,
    pub duplicate: Arc<Counter>,
    pub out_of_bounds: Arc<Counter>,
    pub invalid_labels: Arc<Counter>,
    pub sd_file_read_errors: Arc<Counter>,
}

impl ScrapeMetrics {
    pub fn new(r: &Registry) -> Self {
        ScrapeMetrics {
            scrapes: r.counter("belfry_scrapes_total", "Scrapes attempted."),
            failures: r.counter(
                "belfry_scrape_failures_total",
                "Scrapes that failed (target down, bad body, limit hit, storage error).",
            ),
            sample_limit_exceeded: r.counter(
                "belfry_scrape_sample_limit_exceeded_total",
                "Scrapes failed because they had more samples than sample_limit.",
            ),
            label_limit_exceeded: label_limit_counters(r),
            body_size_limit_exceeded: r.counter(
                "belfry_scrape_body_size_limit_exceeded_total",
                "Scrapes failed because the body was larger than body_size_limit.",
            ),
            out_of_order: r.counter(
                "belfry_scrape_out_of_order_samples_total",
                "Scraped samples refused by storage as out of order.",
            ),
            duplicate: r.counter(
                "belfry_scrape_duplicate_samples_total",
                "Scraped samples refused by storage as duplicates with a different value.",
            ),
            out_of_bounds: r.counter(
                "belfry_scrape_out_of_bounds_samples_total",
                "Scraped samples refused by storage as older than the head window.",
            ),
            invalid_labels: r.counter(
                "belfry_scrape_invalid_label_samples_total",
                "Scraped samples refused by storage for invalid labels.",
            ),
            sd_file_read_errors: r.counter(
                "belfry_sd_file_read_errors_total",
                "File service discovery reads that failed (the last good targets were kept).",
            ),
        }
    }

    /// The counter of scrapes failed by `limit`.
    pub fn label_limit(&self, limit: LabelLimit) -> Arc<Counter> {
        self.label_limit_exceeded.with(&[limit.as_str()])
    }

    /// Counts one sample the appender refused.
    pub fn count_append_error(&self, e: &AppendError) {
        match e {
            AppendError::OutOfOrder => self.out_of_order.inc(),
            AppendError::Duplicate => self.duplicate.inc(),
            AppendError::TooOld => self.out_of_bounds.inc(),
            AppendError::InvalidLabels(_) => self.invalid_labels.inc(),
            // Not a refused sample: the loop appends it by labels instead.
            AppendError::UnknownSeriesRef => {}
        }
    }
}

/// One counter per label limit, all present from the start so a dashboard
/// sees zeros rather than no series.
fn label_limit_counters(r: &Registry) -> Arc<CounterVec> {
    let vec = r.counter_vec(
        "belfry_scrape_label_limit_exceeded_total",
        "Scrapes failed because a series broke label_limit or a label length limit, by limit.",
        &["limit"],
    );
    for limit in LabelLimit::ALL {
        vec.with(&[limit.as_str()]);
    }
    vec
}
