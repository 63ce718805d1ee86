//! `SpyStorage`: [`MemStorage`] behind a thin wrapper for this module's unit
//! tests. It shows what the storage itself cannot: how ingest called it (the
//! size of each backfill batch) and how ingest copes when writes fail.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;

use crate::model::{Labels, MatchOp, Matcher};
use crate::tsdb::suite::select_all;
use crate::tsdb::{
    AppendError, Appender, BackfillReport, CommitReport, MemStorage, Querier, SeriesRef, Storage,
    StorageError, TsdbStats,
};

#[derive(Default, Clone)]
pub(crate) struct SpyStorage {
    storage: Arc<MemStorage>,
    /// When set, commits and backfills fail as a broken disk would.
    pub fail_commits: Arc<AtomicBool>,
    /// The number of samples passed to each `backfill` call, in call order.
    pub backfill_calls: Arc<Mutex<Vec<usize>>>,
}

impl SpyStorage {
    /// The stored samples of exactly this series.
    pub fn samples(&self, labels: &Labels) -> Vec<(i64, f64)> {
        let matchers: Vec<Matcher> = labels.iter().map(|l| Matcher::equal(&l.name, &l.value)).collect();
        select_all(self, &matchers, i64::MIN, i64::MAX)
            .into_iter()
            .find(|(l, _)| l == labels)
            .map(|(_, samples)| samples)
            .unwrap_or_default()
    }

    /// Every stored sample (every ingest path requires a metric name).
    pub fn total_samples(&self) -> usize {
        let any_name = Matcher::new(MatchOp::Regex, "__name__", ".+").expect("a valid regex");
        select_all(self, &[any_name], i64::MIN, i64::MAX)
            .iter()
            .map(|(_, samples)| samples.len())
            .sum()
    }

    fn refuse(&self, what: &str) -> Result<(), StorageError> {
        if self.fail_commits.load(Ordering::SeqCst) {
            return Err(StorageError::Database(format!("test: {what} refused")));
        }
        Ok(())
    }
}

struct SpyAppender {
    spy: SpyStorage,
    inner: Box<dyn Appender>,
}

impl Appender for SpyAppender {
    fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<SeriesRef, AppendError> {
        self.inner.append(labels, t, v)
    }

    fn append_ref(&mut self, r: SeriesRef, t: i64, v: f64) -> Result<(), AppendError> {
        self.inner.append_ref(r, t, v)
    }

    fn commit(self: Box<Self>) -> Result<CommitReport, StorageError> {
        if let Err(e) = self.spy.refuse("commit") {
            self.inner.rollback();
            return Err(e);
        }
        self.inner.commit()
    }

    fn rollback(self: Box<Self>) {
        self.inner.rollback();
    }
}

impl Storage for SpyStorage {
    fn appender(&self) -> Box<dyn Appender> {
        Box::new(SpyAppender {
            spy: self.clone(),
            inner: self.storage.appender(),
        })
    }

    fn querier(&self) -> Box<dyn Querier> {
        self.storage.querier()
    }

    fn stats(&self, top_n: usize) -> TsdbStats {
        self.storage.stats(top_n)
    }

    fn backfill(&self, series: Vec<(Labels, Vec<(i64, f64)>)>) -> Result<BackfillReport, StorageError> {
        self.refuse("backfill")?;
        let samples = series.iter().map(|(_, s)| s.len()).sum();
        let report = self.storage.backfill(series)?;
        self.backfill_calls.lock().push(samples);
        Ok(report)
    }
}
