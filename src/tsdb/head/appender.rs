//! The head's appender: validates each sample as it is buffered (against
//! the head and earlier samples of the batch), and on commit, under the
//! commit lock, re-validates, writes new series and the samples to the WAL,
//! and applies them to the head; the fsync that makes the batch durable is
//! waited for after the lock is released, so concurrent commits share it.
//!
//! The hot path is a series the head already has: it is found by label hash
//! and its labels are never copied; only a new series' labels are kept,
//! packed into one allocation (a first scrape of 100k+ series holds them
//! all until commit, and the allocator keeps what that peak took).

use std::sync::Arc;

use smallvec::SmallVec;

use crate::model::{Labels, PackedLabels};
use crate::tsdb::db::Inner;
use crate::tsdb::validate::{self, LastSample, Verdict};
use crate::tsdb::wal::WalRecord;
use crate::tsdb::{AppendError, Appender, CommitReport, StorageError};

use super::{MemSeries, U64Map};

/// A series this batch writes to: known to the head, or to be created.
struct Target {
    /// `None` for a series the head did not have at append time.
    series: Option<Arc<MemSeries>>,
    /// Only for new series: the head has the labels of known ones.
    labels: Option<PackedLabels>,
    /// The newest sample buffered for it (or its head state).
    last: Option<LastSample>,
}

pub(crate) struct HeadAppender {
    db: Arc<Inner>,
    targets: Vec<Target>,
    by_ref: U64Map<u32>,
    /// New series by label hash (collisions resolved by comparing labels).
    new_by_hash: U64Map<SmallVec<[u32; 1]>>,
    samples: Vec<(u32, i64, f64)>,
}

impl HeadAppender {
    pub(crate) fn new(db: Arc<Inner>) -> Self {
        HeadAppender {
            db,
            targets: Vec::new(),
            by_ref: U64Map::default(),
            new_by_hash: U64Map::default(),
            samples: Vec::new(),
        }
    }

    fn target(&mut self, labels: &Labels) -> usize {
        let hash = labels.stable_hash();
        let found = self.db.head.index.read().get_by_labels(hash, labels).cloned();
        if let Some(series) = found {
            let next = self.targets.len() as u32;
            let i = *self.by_ref.entry(series.series_ref).or_insert(next);
            if i == next {
                let last = series.state.lock().last;
                self.targets.push(Target {
                    series: Some(series),
                    labels: None,
                    last,
                });
            }
            return i as usize;
        }
        let same = self.new_by_hash.entry(hash).or_default();
        if let Some(&i) = same.iter().find(|&&i| {
            self.targets[i as usize]
                .labels
                .as_ref()
                .is_some_and(|p| p.matches(labels))
        }) {
            return i as usize;
        }
        let i = self.targets.len();
        same.push(i as u32);
        self.targets.push(Target {
            series: None,
            labels: Some(PackedLabels::new(labels)),
            last: None,
        });
        i
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

/// A target resolved under the commit lock.
struct Resolved {
    series: Option<Arc<MemSeries>>,
    /// Labels to create the series with, when `series` is `None`.
    labels: Option<PackedLabels>,
    last: Option<LastSample>,
}

/// Finds each target's live series (retention may have dropped one since
/// append, and another commit may have created a new one) and its last
/// sample. Called under the commit lock: only commits create series.
fn resolve(db: &Inner, targets: Vec<Target>) -> Vec<Resolved> {
    let idx = db.head.index.read();
    targets
        .into_iter()
        .map(|t| {
            if let Some(s) = t.series {
                let st = s.state.lock();
                if !st.removed {
                    let last = st.last;
                    drop(st);
                    return Resolved {
                        series: Some(s),
                        labels: None,
                        last,
                    };
                }
                drop(st);
                let labels = PackedLabels::new(&idx.labels_of(&s));
                return lookup(&idx, labels);
            }
            let labels = t.labels.expect("a target without a series has labels");
            lookup(&idx, labels)
        })
        .collect()
}

fn lookup(idx: &super::HeadIndex, labels: PackedLabels) -> Resolved {
    match idx.get_by_packed(labels.stable_hash(), &labels) {
        Some(s) => Resolved {
            last: s.state.lock().last,
            series: Some(s.clone()),
            labels: None,
        },
        None => Resolved {
            series: None,
            labels: Some(labels),
            last: None,
        },
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
        let commit = db.commit_lock.lock();
        db.check_open()?;
        // Held past the commit lock, until the fsync: `close` takes it
        // exclusively only after the commit lock.
        let wal_guard = db.wal.read();
        let wal = wal_guard.as_ref().ok_or(StorageError::Closed)?;

        let mut resolved = resolve(&db, targets);

        // Re-validate: other commits may have landed since append().
        let min_valid = db.head.min_valid_time();
        let mut accepted: Vec<(u32, i64, f64)> = Vec::with_capacity(samples.len());
        for (i, t, v) in samples {
            let r = &mut resolved[i as usize];
            match validate::check_sample(r.last, t, v, min_valid) {
                Ok(Verdict::Append) => {
                    r.last = Some(LastSample {
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
        let mut refs: Vec<u64> = resolved
            .iter()
            .map(|r| r.series.as_ref().map_or(u64::MAX, |s| s.series_ref))
            .collect();
        let mut new_series: Vec<(u64, PackedLabels)> = Vec::new();
        let mut new_targets: Vec<usize> = Vec::new();
        {
            let mut idx = db.head.index.write();
            for &(i, _, _) in &accepted {
                let i = i as usize;
                if refs[i] != u64::MAX {
                    continue;
                }
                refs[i] = idx.next_ref;
                idx.next_ref += 1;
                let labels = resolved[i].labels.take().expect("a new series has labels");
                new_series.push((refs[i], labels));
                new_targets.push(i);
            }
        }

        // In the OS (so a process crash keeps it) before the head sees it;
        // on disk before commit returns, below.
        let mut series_payload = Vec::new();
        if !new_series.is_empty() {
            WalRecord::encode_packed_series(&mut series_payload, &new_series);
        }
        let mut samples_payload = Vec::with_capacity(16 + accepted.len() * 12);
        WalRecord::encode_samples(
            &mut samples_payload,
            accepted.len(),
            accepted.iter().map(|&(i, t, v)| (refs[i as usize], t, v)),
        );
        let payloads: &[&[u8]] = if series_payload.is_empty() {
            &[&samples_payload]
        } else {
            &[&series_payload, &samples_payload]
        };
        let seq = wal.write_payloads(payloads)?;
        drop((series_payload, samples_payload));

        let created = new_series.len();
        if !new_series.is_empty() {
            let mut idx = db.head.index.write();
            for ((r, labels), &i) in new_series.iter().zip(&new_targets) {
                resolved[i].series = Some(idx.insert_packed(*r, labels));
            }
        }
        drop(new_series);
        let mut chunks_opened = 0;
        let mut max_t = i64::MIN;
        for &(i, t, v) in &accepted {
            let Some(s) = &resolved[i as usize].series else {
                continue;
            };
            chunks_opened += s.state.lock().append(t, v).chunks_opened;
            max_t = max_t.max(t);
        }
        db.head.observe_t(max_t);
        drop(commit);

        // Concurrent commits that wrote meanwhile share this fsync.
        wal.make_durable(seq)?;
        drop(wal_guard);

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
