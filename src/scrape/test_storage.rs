//! A small recording [`Storage`] for the scraper's unit tests (the real
//! engines live in `tsdb`): it keeps every committed sample in order and
//! applies Prometheus's out-of-order and duplicate rules per series.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::model::{Labels, Matcher};
use crate::tsdb::{
    AppendError, Appender, BackfillReport, CommitReport, Querier, SampleIter, SelectedSeries, Storage,
    StorageError, TsdbStats,
};

#[derive(Default)]
pub struct RecordingStorage {
    inner: Arc<Mutex<Committed>>,
}

#[derive(Default)]
struct Committed {
    samples: Vec<(Labels, i64, f64)>,
    last: HashMap<Labels, (i64, u64)>,
}

impl RecordingStorage {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// Every committed sample, in commit order.
    pub fn samples(&self) -> Vec<(Labels, i64, f64)> {
        self.inner.lock().samples.clone()
    }

    /// Samples of the series whose `__name__` is `name`.
    pub fn series(&self, name: &str) -> Vec<(Labels, i64, f64)> {
        self.samples()
            .into_iter()
            .filter(|(l, _, _)| l.metric_name() == Some(name))
            .collect()
    }
}

struct RecordingAppender {
    inner: Arc<Mutex<Committed>>,
    batch: Vec<(Labels, i64, f64)>,
    last: HashMap<Labels, (i64, u64)>,
}

impl Storage for RecordingStorage {
    fn appender(&self) -> Box<dyn Appender> {
        Box::new(RecordingAppender {
            inner: self.inner.clone(),
            batch: Vec::new(),
            last: HashMap::new(),
        })
    }

    fn querier(&self) -> Box<dyn Querier> {
        Box::new(RecordingQuerier(self.samples()))
    }

    fn stats(&self, _top_n: usize) -> TsdbStats {
        TsdbStats::default()
    }

    fn backfill(&self, _series: Vec<(Labels, Vec<(i64, f64)>)>) -> Result<BackfillReport, StorageError> {
        Err(StorageError::Database(
            "backfill is not supported by the recording storage".into(),
        ))
    }
}

impl Appender for RecordingAppender {
    fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<(), AppendError> {
        let prev = self
            .last
            .get(labels)
            .copied()
            .or_else(|| self.inner.lock().last.get(labels).copied());
        if let Some((pt, pv)) = prev {
            if t < pt {
                return Err(AppendError::OutOfOrder);
            }
            if t == pt {
                return if pv == v.to_bits() {
                    Ok(())
                } else {
                    Err(AppendError::Duplicate)
                };
            }
        }
        self.last.insert(labels.clone(), (t, v.to_bits()));
        self.batch.push((labels.clone(), t, v));
        Ok(())
    }

    fn commit(self: Box<Self>) -> Result<CommitReport, StorageError> {
        let mut inner = self.inner.lock();
        let n = self.batch.len();
        for (l, t, v) in self.batch {
            inner.last.insert(l.clone(), (t, v.to_bits()));
            inner.samples.push((l, t, v));
        }
        Ok(CommitReport {
            samples_appended: n,
            series_created: 0,
        })
    }

    fn rollback(self: Box<Self>) {}
}

struct RecordingQuerier(Vec<(Labels, i64, f64)>);

struct VecIter(std::vec::IntoIter<(i64, f64)>);

impl SampleIter for VecIter {
    fn next(&mut self) -> Option<(i64, f64)> {
        self.0.next()
    }
}

impl RecordingQuerier {
    fn matching(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<(Labels, Vec<(i64, f64)>)> {
        let mut by_series: std::collections::BTreeMap<Labels, Vec<(i64, f64)>> = Default::default();
        for (l, t, v) in &self.0 {
            let hit = matchers.iter().all(|m| m.matches(l.get(&m.name).unwrap_or("")));
            if hit && *t >= mint && *t <= maxt {
                by_series.entry(l.clone()).or_default().push((*t, *v));
            }
        }
        by_series.into_iter().collect()
    }
}

impl Querier for RecordingQuerier {
    fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<SelectedSeries>, StorageError> {
        Ok(self
            .matching(matchers, mint, maxt)
            .into_iter()
            .map(|(labels, mut samples)| {
                samples.sort_by_key(|s| s.0);
                SelectedSeries {
                    labels,
                    samples: Box::new(VecIter(samples.into_iter())),
                }
            })
            .collect())
    }

    fn label_names(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<String>, StorageError> {
        let mut names: Vec<String> = self
            .matching(matchers, mint, maxt)
            .iter()
            .flat_map(|(l, _)| l.iter().map(|x| x.name.clone()).collect::<Vec<_>>())
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, StorageError> {
        let mut values: Vec<String> = self
            .matching(matchers, mint, maxt)
            .iter()
            .filter_map(|(l, _)| l.get(name).map(str::to_string))
            .collect();
        values.sort();
        values.dedup();
        Ok(values)
    }
}
