//! A small in-memory `Storage` for this module's unit tests, with the
//! engine's order rules (same time and value bits: accepted silently; same
//! time, other value: duplicate; earlier: out of order) and a switch that
//! makes commits fail.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;

use crate::model::{Labels, Matcher};
use crate::tsdb::{
    AppendError, Appender, BackfillReport, CommitReport, Querier, SampleIter, SelectedSeries, Storage,
    StorageError, TsdbStats,
};

type Series = BTreeMap<Labels, Vec<(i64, f64)>>;

#[derive(Default, Clone)]
pub(crate) struct TestStorage {
    series: Arc<Mutex<Series>>,
    pub fail_commits: Arc<AtomicBool>,
    pub backfill_calls: Arc<Mutex<Vec<usize>>>,
}

impl TestStorage {
    pub fn samples(&self, labels: &Labels) -> Vec<(i64, f64)> {
        self.series.lock().get(labels).cloned().unwrap_or_default()
    }

    pub fn total_samples(&self) -> usize {
        self.series.lock().values().map(Vec::len).sum()
    }
}

struct TestAppender {
    storage: TestStorage,
    pending: Vec<(Labels, i64, f64)>,
}

impl Appender for TestAppender {
    fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<(), AppendError> {
        let stored = self.storage.series.lock();
        let last_stored = stored.get(labels).and_then(|s| s.last().copied());
        let last_pending = self
            .pending
            .iter()
            .rev()
            .find(|(l, _, _)| l == labels)
            .map(|(_, t, v)| (*t, *v));
        if let Some((lt, lv)) = last_pending.or(last_stored) {
            if t < lt {
                return Err(AppendError::OutOfOrder);
            }
            if t == lt {
                return if v.to_bits() == lv.to_bits() {
                    Ok(())
                } else {
                    Err(AppendError::Duplicate)
                };
            }
        }
        drop(stored);
        self.pending.push((labels.clone(), t, v));
        Ok(())
    }

    fn commit(self: Box<Self>) -> Result<CommitReport, StorageError> {
        if self.storage.fail_commits.load(Ordering::SeqCst) {
            return Err(StorageError::Database("test: commit refused".into()));
        }
        let mut series = self.storage.series.lock();
        let mut report = CommitReport::default();
        for (labels, t, v) in self.pending {
            let s = series.entry(labels).or_insert_with(|| {
                report.series_created += 1;
                Vec::new()
            });
            s.push((t, v));
            report.samples_appended += 1;
        }
        Ok(report)
    }

    fn rollback(self: Box<Self>) {}
}

struct TestQuerier(Series);

struct VecIter(std::vec::IntoIter<(i64, f64)>);

impl SampleIter for VecIter {
    fn next(&mut self) -> Option<(i64, f64)> {
        self.0.next()
    }
}

impl Querier for TestQuerier {
    fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<SelectedSeries>, StorageError> {
        Ok(self
            .0
            .iter()
            .filter(|(l, _)| matchers.iter().all(|m| m.matches(l.get(&m.name).unwrap_or(""))))
            .map(|(l, s)| {
                let in_range: Vec<_> = s
                    .iter()
                    .copied()
                    .filter(|(t, _)| (mint..=maxt).contains(t))
                    .collect();
                (l, in_range)
            })
            .filter(|(_, s)| !s.is_empty())
            .map(|(l, s)| SelectedSeries {
                labels: l.clone(),
                samples: Box::new(VecIter(s.into_iter())),
            })
            .collect())
    }

    fn label_names(&self, _: &[Matcher], _: i64, _: i64) -> Result<Vec<String>, StorageError> {
        let mut names: Vec<String> = self
            .0
            .keys()
            .flat_map(|l| l.iter().map(|l| l.name.clone()))
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn label_values(&self, name: &str, _: &[Matcher], _: i64, _: i64) -> Result<Vec<String>, StorageError> {
        let mut values: Vec<String> = self
            .0
            .keys()
            .filter_map(|l| l.get(name).map(str::to_string))
            .collect();
        values.sort();
        values.dedup();
        Ok(values)
    }
}

impl Storage for TestStorage {
    fn appender(&self) -> Box<dyn Appender> {
        Box::new(TestAppender {
            storage: self.clone(),
            pending: Vec::new(),
        })
    }

    fn querier(&self) -> Box<dyn Querier> {
        Box::new(TestQuerier(self.series.lock().clone()))
    }

    fn stats(&self, _top_n: usize) -> TsdbStats {
        TsdbStats {
            num_series: self.series.lock().len() as u64,
            ..TsdbStats::default()
        }
    }

    fn backfill(&self, batch: Vec<(Labels, Vec<(i64, f64)>)>) -> Result<BackfillReport, StorageError> {
        if self.fail_commits.load(Ordering::SeqCst) {
            return Err(StorageError::Database("test: backfill refused".into()));
        }
        let mut report = BackfillReport::default();
        let mut series = self.series.lock();
        let mut n = 0;
        for (labels, samples) in batch {
            n += samples.len();
            let s = series.entry(labels).or_insert_with(|| {
                report.series_created += 1;
                Vec::new()
            });
            for (t, v) in samples {
                match s.binary_search_by_key(&t, |(st, _)| *st) {
                    Ok(_) => report.samples_skipped += 1,
                    Err(i) => {
                        s.insert(i, (t, v));
                        report.samples_written += 1;
                    }
                }
            }
        }
        self.backfill_calls.lock().push(n);
        Ok(report)
    }
}
