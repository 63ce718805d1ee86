//! The head's appender: validates each sample as it is buffered (against
//! the head and earlier samples of the batch), and on commit, under the
//! commit lock, re-validates, logs new series and the samples to the WAL,
//! then applies them to the head.

use std::collections::HashMap;
use std::sync::Arc;

use crate::model::Labels;
use crate::tsdb::db::Inner;
use crate::tsdb::validate::{self, LastSample, Verdict};
use crate::tsdb::wal::WalRecord;
use crate::tsdb::{AppendError, Appender, CommitReport, StorageError};

use super::{MemSeries, SeriesState};

/// A series this batch writes to: known to the head, or to be created.
struct Target {
    series: Option<Arc<MemSeries>>,
    labels: Labels,
    /// The newest sample buffered for it (or its head state).
    last: Option<LastSample>,
}

pub(crate) struct HeadAppender {
    db: Arc<Inner>,
    targets: Vec<Target>,
    by_ref: HashMap<u64, usize>,
    new_by_labels: HashMap<Labels, usize>,
    samples: Vec<(u32, i64, f64)>,
}

impl HeadAppender {
    pub(crate) fn new(db: Arc<Inner>) -> Self {
        HeadAppender {
            db,
            targets: Vec::new(),
            by_ref: HashMap::new(),
            new_by_labels: HashMap::new(),
            samples: Vec::new(),
        }
    }

    fn target(&mut self, labels: &Labels) -> usize {
        let hash = labels.stable_hash();
        let found = self.db.head.index.read().get_by_labels(hash, labels).cloned();
        match found {
            Some(series) => *self.by_ref.entry(series.series_ref).or_insert_with(|| {
                let last = series.state.lock().last;
                self.targets.push(Target {
                    series: Some(series),
                    labels: labels.clone(),
                    last,
                });
                self.targets.len() - 1
            }),
            None => *self.new_by_labels.entry(labels.clone()).or_insert_with(|| {
                self.targets.push(Target {
                    series: None,
                    labels: labels.clone(),
                    last: None,
                });
                self.targets.len() - 1
            }),
        }
    }

    fn check(&mut self, labels: &Labels, t: i64, v: f64) -> Result<(), AppendError> {
        validate::check_labels(labels)?;
        let i = self.target(labels);
        let min_valid = self.db.head.min_valid_time();
        let target = &mut self.targets[i];
        if validate::check_sample(target.last, t, v, min_valid)? == Verdict::AlreadyStored {
            return Ok(());
        }
        target.last = Some(LastSample {
            t,
            value: Some(v.to_bits()),
        });
        self.samples.push((i as u32, t, v));
        Ok(())
    }
}

impl Appender for HeadAppender {
    fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<(), AppendError> {
        let r = self.check(labels, t, v);
        if let Err(e) = &r {
            self.db.metrics.count_refusal(e);
        }
        r
    }

    fn commit(self: Box<Self>) -> Result<CommitReport, StorageError> {
        let HeadAppender {
            db, targets, samples, ..
        } = *self;
        db.check_open()?;
        if samples.is_empty() {
            return Ok(CommitReport::default());
        }
        let _commit = db.commit_lock.lock();
        db.check_open()?;

        // Resolve every target to a live series; `None` means "create it".
        // Only this (commit-locked) code creates series, so nothing races us.
        let mut series: Vec<Option<Arc<MemSeries>>> = {
            let idx = db.head.index.read();
            targets
                .iter()
                .map(|t| {
                    let live = t.series.as_ref().filter(|s| !s.state.lock().removed).cloned();
                    live.or_else(|| idx.get_by_labels(t.labels.stable_hash(), &t.labels).cloned())
                })
                .collect()
        };

        // Re-validate: other commits may have landed since append().
        let min_valid = db.head.min_valid_time();
        let mut last: Vec<Option<LastSample>> = series
            .iter()
            .map(|s| s.as_ref().and_then(|s| s.state.lock().last))
            .collect();
        let mut accepted: Vec<(u32, i64, f64)> = Vec::with_capacity(samples.len());
        for (i, t, v) in samples {
            match validate::check_sample(last[i as usize], t, v, min_valid) {
                Ok(Verdict::Append) => {
                    last[i as usize] = Some(LastSample {
                        t,
                        value: Some(v.to_bits()),
                    });
                    accepted.push((i, t, v));
                }
                Ok(Verdict::AlreadyStored) => {}
                Err(e) => db.metrics.count_refusal(&e),
            }
        }
        if accepted.is_empty() {
            return Ok(CommitReport::default());
        }

        // Refs for new series that kept at least one sample.
        let mut refs: Vec<u64> = series
            .iter()
            .map(|s| s.as_ref().map_or(u64::MAX, |s| s.series_ref))
            .collect();
        let mut new_series: Vec<(u64, Labels)> = Vec::new();
        let mut new_targets: Vec<usize> = Vec::new();
        {
            let mut idx = db.head.index.write();
            for &(i, _, _) in &accepted {
                let i = i as usize;
                if refs[i] == u64::MAX {
                    refs[i] = idx.next_ref;
                    idx.next_ref += 1;
                    new_series.push((refs[i], targets[i].labels.clone()));
                    new_targets.push(i);
                }
            }
        }

        let mut records = Vec::with_capacity(2);
        if !new_series.is_empty() {
            records.push(WalRecord::Series(new_series));
        }
        records.push(WalRecord::Samples(
            accepted
                .iter()
                .map(|&(i, t, v)| (refs[i as usize], t, v))
                .collect(),
        ));
        {
            let wal = db.wal.read();
            let wal = wal.as_ref().ok_or(StorageError::Closed)?;
            wal.log(&records)?;
        }

        // Durable: now make it visible.
        let mut created = 0;
        if let Some(WalRecord::Series(new_series)) = records.first() {
            let mut idx = db.head.index.write();
            for ((r, labels), &i) in new_series.iter().zip(&new_targets) {
                series[i] = Some(idx.insert(*r, labels, SeriesState::default()));
                created += 1;
            }
        }
        let mut chunks_opened = 0;
        let mut max_t = i64::MIN;
        for &(i, t, v) in &accepted {
            let Some(s) = &series[i as usize] else {
                continue;
            };
            chunks_opened += s.state.lock().append(t, v).chunks_opened;
            max_t = max_t.max(t);
        }
        db.head.observe_t(max_t);
        let report = CommitReport {
            samples_appended: accepted.len(),
            series_created: created,
        };
        db.metrics.appended_samples.add(report.samples_appended as u64);
        db.metrics.series_created.add(report.series_created as u64);
        db.metrics.head_series.add(report.series_created as f64);
        db.metrics.head_chunks.add(chunks_opened as f64);
        Ok(report)
    }

    fn rollback(self: Box<Self>) {}
}
