//! [`ExemplarStore`]: the ring behind one lock, its metrics, the append
//! interface and selection by matcher sets.

use parking_lot::RwLock;

use crate::model::{Labels, Matcher, matches_all};
use crate::selfmetrics::Registry;

use super::error::ExemplarError;
use super::exemplar::{Exemplar, ExemplarAppender, SeriesExemplars};
use super::metrics::ExemplarMetrics;
use super::ring::{Appended, Ring};

/// Holds at most `max_exemplars` exemplars; past that the oldest (by
/// arrival, over all series) is overwritten. 0 keeps none.
pub struct ExemplarStore {
    ring: RwLock<Ring>,
    metrics: ExemplarMetrics,
}

impl ExemplarStore {
    pub fn new(max_exemplars: usize, registry: &Registry) -> ExemplarStore {
        let metrics = ExemplarMetrics::new(registry);
        metrics.max_exemplars.set(max_exemplars as f64);
        ExemplarStore {
            ring: RwLock::new(Ring::with_capacity(max_exemplars)),
            metrics,
        }
    }

    pub fn max_exemplars(&self) -> usize {
        self.ring.read().capacity()
    }

    /// Changes the capacity, keeping the newest exemplars that fit, as a
    /// configuration reload does in Prometheus.
    pub fn resize(&self, max_exemplars: usize) {
        let mut ring = self.ring.write();
        if ring.capacity() == max_exemplars {
            return;
        }
        let old = std::mem::take(&mut *ring);
        *ring = old.resized(max_exemplars);
        self.metrics.max_exemplars.set(max_exemplars as f64);
        self.update_gauges(&ring);
    }

    /// Series matching any one of `matcher_sets` (all matchers of a set
    /// at once), with their exemplars in `[start, end]` (ms), sorted by
    /// series labels.
    pub fn select(&self, start: i64, end: i64, matcher_sets: &[Vec<Matcher>]) -> Vec<SeriesExemplars> {
        let ring = self.ring.read();
        ring.select(start, end, |labels| {
            matcher_sets.iter().any(|set| matches_all(set, labels))
        })
        .into_iter()
        .map(|(series_labels, exemplars)| SeriesExemplars {
            series_labels,
            exemplars,
        })
        .collect()
    }

    fn update_gauges(&self, ring: &Ring) {
        self.metrics.in_storage.set(ring.len() as f64);
        self.metrics.series_in_storage.set(ring.series_count() as f64);
        let oldest = ring.oldest_timestamp().map_or(0.0, |ms| ms as f64 / 1000.0);
        self.metrics.last_timestamp.set(oldest);
    }

    fn count_refusal(&self, e: &ExemplarError) {
        let reason = match e {
            ExemplarError::Disabled => "disabled",
            ExemplarError::LabelSetTooLong { .. } => "label_set_too_long",
            ExemplarError::OutOfOrder => {
                self.metrics.out_of_order.inc();
                "out_of_order"
            }
        };
        self.metrics.refused.with(&[reason]).inc();
    }
}

impl ExemplarAppender for ExemplarStore {
    fn append_exemplar(&self, series: &Labels, exemplar: Exemplar) -> Result<(), ExemplarError> {
        let mut ring = self.ring.write();
        match ring.append(series, exemplar) {
            Ok(Appended::Stored) => {
                self.metrics.appended.inc();
                self.update_gauges(&ring);
                Ok(())
            }
            Ok(Appended::Duplicate) => Ok(()),
            Err(e) => {
                drop(ring);
                self.count_refusal(&e);
                Err(e)
            }
        }
    }
}

#[cfg(test)]
#[path = "store_tests.rs"]
mod tests;
