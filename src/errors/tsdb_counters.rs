//! Cumulative counters the errors subsystem derives from what SDKs send
//! (sessions by status, transactions by name, status and duration
//! bucket), kept in memory and appended to the TSDB at a fixed interval
//! through its `Appender`, so dashboards and rules query them like any
//! scraped series.
//!
//! At start they are restored from the TSDB's last values rather than
//! starting from zero: a reset would make `rate()` and `increase()` right
//! anyway, but a raw `sum(belfry_transactions_total)` panel, or a rule
//! comparing two counters' totals (crashed against started sessions),
//! would drop to zero at every restart; restored, each series stays the
//! running total since it first appeared, as Sentry's own totals are.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::model::{Labels, MatchOp, Matcher, now_millis};
use crate::tsdb::Storage;

/// How far back the restore looks for a series' last value.
const RESTORE_LOOKBACK_MS: i64 = 30 * 86_400_000;

pub struct TsdbCounters {
    values: Mutex<HashMap<Labels, f64>>,
}

impl Default for TsdbCounters {
    fn default() -> Self {
        TsdbCounters {
            values: Mutex::new(HashMap::new()),
        }
    }
}

impl TsdbCounters {
    pub fn add(&self, labels: Labels, by: f64) {
        *self.values.lock().entry(labels).or_insert(0.0) += by;
    }

    /// Adds to several series under one lock (a histogram's buckets).
    pub fn add_all(&self, series: impl IntoIterator<Item = (Labels, f64)>) {
        let mut values = self.values.lock();
        for (labels, by) in series {
            *values.entry(labels).or_insert(0.0) += by;
        }
    }

    pub fn get(&self, labels: &Labels) -> Option<f64> {
        self.values.lock().get(labels).copied()
    }

    /// The series held, with their values.
    pub fn snapshot(&self) -> Vec<(Labels, f64)> {
        self.values.lock().iter().map(|(l, v)| (l.clone(), *v)).collect()
    }

    /// Takes each series named by `name_regex` at its last value in the
    /// TSDB (before anything was counted here). Blocking.
    pub fn restore(&self, storage: &dyn Storage, name_regex: &str, now_ms: i64) -> usize {
        let matcher = match Matcher::new(MatchOp::Regex, "__name__", name_regex) {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "cannot restore the error counters");
                return 0;
            }
        };
        let querier = storage.querier();
        let series = match querier.select(&[matcher], now_ms - RESTORE_LOOKBACK_MS, now_ms) {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot restore the error counters; they start from zero");
                return 0;
            }
        };
        let mut values = self.values.lock();
        let mut restored = 0;
        for mut s in series {
            let mut last = None;
            while let Some((_, v)) = s.samples.next() {
                if !crate::model::is_stale_nan(v) {
                    last = Some(v);
                }
            }
            if let Some(v) = last {
                *values.entry(s.labels).or_insert(0.0) += v;
                restored += 1;
            }
        }
        restored
    }

    /// Appends every series' value at `now_ms`. Blocking (the commit
    /// writes the WAL).
    pub fn flush(&self, storage: &dyn Storage, now_ms: i64) {
        let series = self.snapshot();
        if series.is_empty() {
            return;
        }
        let mut app = storage.appender();
        for (labels, v) in &series {
            if let Err(e) = app.append(labels, now_ms, *v) {
                tracing::debug!(error = %e, "cannot append an error counter sample");
            }
        }
        if let Err(e) = app.commit() {
            tracing::warn!(error = %e, "cannot append the error counters to the metrics store");
        }
    }
}

/// Appends `counters` to `storage` every `interval` until `shutdown`,
/// then once more.
pub async fn run_flush(
    counters: Arc<TsdbCounters>,
    storage: Arc<dyn Storage>,
    interval: std::time::Duration,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let stop = tokio::select! {
            _ = tick.tick() => false,
            _ = shutdown.cancelled() => true,
        };
        let (c, s) = (counters.clone(), storage.clone());
        let now_ms = now_millis();
        let _ = tokio::task::spawn_blocking(move || c.flush(&*s, now_ms)).await;
        if stop {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tsdb::MemStorage;

    #[test]
    fn flushes_and_restores_running_totals() {
        let storage = MemStorage::new();
        let c = TsdbCounters::default();
        let l = Labels::from_pairs(&[("__name__", "belfry_transactions_total"), ("status", "ok")]);
        c.add(l.clone(), 2.0);
        c.add(l.clone(), 1.0);
        c.flush(&storage, 1_000);
        let restarted = TsdbCounters::default();
        assert_eq!(restarted.restore(&storage, "belfry_transaction.*", 2_000), 1);
        restarted.add(l.clone(), 1.0);
        assert_eq!(restarted.get(&l), Some(4.0));
    }
}
