//! The head's appender: validates each sample as it is buffered (against
//! the head and earlier samples of the batch), and on commit re-validates,
//! writes new series and the samples to the WAL, and applies them to the
//! head; the fsync that makes the batch durable is waited for after every
//! lock is released, so concurrent commits share it.
//!
//! Commits run side by side: each holds the commit lock shared and locks
//! the series it writes (in ref order, so two commits never deadlock) from
//! validation until the samples are in the head. A series' samples thus
//! reach the WAL in the order the head takes them, and the WAL replays to
//! the same head. New series are logged and added to the index under the
//! index's write lock, so no commit can log a sample for a series before
//! the series itself.
//!
//! The hot path is a series the caller names by [`SeriesRef`]; by labels,
//! a known series is found by label hash and its labels are never copied;
//! only a new series' labels are kept, packed into one allocation (a first
//! scrape of 100k+ series holds them all until commit, and the allocator
//! keeps what that peak took).

use std::sync::Arc;

use smallvec::SmallVec;

use crate::model::{Labels, PackedLabels};
use crate::tsdb::db::Inner;
use crate::tsdb::validate::{self, LastSample, Verdict};
use crate::tsdb::wal::{Wal, WalRecord};
use crate::tsdb::{AppendError, Appender, CommitReport, SeriesRef, StorageError};

use super::{MemSeries, RefTable, SeriesGuard, SeriesState, U64Map};

/// How a target holds its series.
enum Handle {
    /// By ref, in the appender's snapshot of the ref table (which keeps it
    /// alive): no reference count to touch per sample.
    InSnapshot(u64),
    Owned(Arc<MemSeries>),
}

/// A series this batch writes to: known to the head, or to be created.
struct Target {
    /// `None` for a series the head did not have at append time.
    series: Option<Handle>,
    /// Only for new series: the head has the labels of known ones.
    labels: Option<PackedLabels>,
    /// The ref the caller got: the series' own, or one reserved for it.
    sref: u64,
    /// Whether any sample for it is buffered: only such series are created.
    has_samples: bool,
}

pub(crate) struct HeadAppender {
    db: Arc<Inner>,
    /// Series by ref as of the batch's start (refreshed if a ref is newer).
    snapshot: Arc<RefTable>,
    targets: Vec<Target>,
    /// Per target: the newest sample buffered for it (or its head state).
    /// Apart from `targets`, so the commit can reuse it.
    lasts: Vec<Option<LastSample>>,
    /// How targets are found by the ref handed out for them.
    by_ref: RefIndex,
    /// New series by label hash (collisions resolved by comparing labels).
    new_by_hash: U64Map<SmallVec<[u32; 1]>>,
    samples: Vec<(u32, i64, f64)>,
    /// `Head::removals` when the batch began: while it is unchanged, no
    /// series this batch found can have been removed.
    removals_seen: u64,
}

impl HeadAppender {
    pub(crate) fn new(db: Arc<Inner>) -> Self {
        // Sized like recent batches (up to a bound), so a scrape's batch
        // does not grow its tables step by step.
        let hint = db.head.batch_hint();
        let snapshot = db.head.index.read().ref_snapshot();
        HeadAppender {
            snapshot,
            targets: Vec::with_capacity(hint),
            lasts: Vec::with_capacity(hint),
            by_ref: RefIndex::Ascending(None),
            new_by_hash: U64Map::default(),
            samples: Vec::with_capacity(hint),
            removals_seen: db.head.removals(),
            db,
        }
    }

    fn push_known(&mut self, sref: u64, series: Handle, last: Option<LastSample>) -> usize {
        let i = self.targets.len();
        self.by_ref.note(sref, i, &self.targets);
        self.targets.push(Target {
            sref,
            series: Some(series),
            labels: None,
            has_samples: false,
        });
        self.lasts.push(last);
        i
    }

    fn target(&mut self, labels: &Labels) -> usize {
        let hash = labels.stable_hash();
        let idx = self.db.head.index.read();
        if let Some(series) = idx.get_by_labels(hash, labels) {
            if let Some(i) = self.by_ref.find(series.series_ref, &self.targets) {
                return i;
            }
            // Under the index lock: retention cannot remove it meanwhile.
            let last = series.published.last();
            let (sref, series) = (series.series_ref, Handle::Owned(series.clone()));
            drop(idx);
            return self.push_known(sref, series, last);
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
        let sref = idx.reserve_ref();
        drop(idx);
        let i = self.targets.len();
        same.push(i as u32);
        self.by_ref.note(sref, i, &self.targets);
        self.targets.push(Target {
            series: None,
            labels: Some(PackedLabels::new(labels)),
            sref,
            has_samples: false,
        });
        self.lasts.push(None);
        i
    }

    fn target_by_ref(&mut self, r: SeriesRef) -> Result<usize, AppendError> {
        if let Some(i) = self.by_ref.find(r.0, &self.targets) {
            return Ok(i);
        }
        if self.snapshot.get(r.0).is_none() {
            self.refresh_snapshot();
        }
        let series = self.snapshot.get(r.0).ok_or(AppendError::UnknownSeriesRef)?;
        // A snapshot may still hold a series retention removed since.
        if series.published.is_removed() {
            return Err(AppendError::UnknownSeriesRef);
        }
        let last = series.published.last();
        Ok(self.push_known(r.0, Handle::InSnapshot(r.0), last))
    }

    /// Takes a newer snapshot (the ref may name a series created since the
    /// batch began). Targets held through the old one now own their series.
    fn refresh_snapshot(&mut self) {
        let fresh = self.db.head.index.read().ref_snapshot();
        let old = std::mem::replace(&mut self.snapshot, fresh);
        for t in &mut self.targets {
            if let Some(Handle::InSnapshot(r)) = t.series
                && let Some(s) = old.get(r)
            {
                t.series = Some(Handle::Owned(s.clone()));
            }
        }
    }

    fn check(&mut self, i: usize, t: i64, v: f64) -> Result<(), AppendError> {
        let min_valid = self.db.head.min_valid_time();
        let last = &mut self.lasts[i];
        if validate::check_sample(*last, t, v, min_valid)? == Verdict::AlreadyStored {
            return Ok(());
        }
        *last = Some(LastSample {
            t,
            value: Some(v.to_bits()),
        });
        self.targets[i].has_samples = true;
        self.samples.push((i as u32, t, v));
        Ok(())
    }

    fn counted<T>(&self, r: Result<T, AppendError>) -> Result<T, AppendError> {
        if let Err(e) = &r {
            self.db.metrics.count_refusal(e);
        }
        r
    }
}

impl Appender for HeadAppender {
    fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<SeriesRef, AppendError> {
        let r = validate::check_labels(labels).and_then(|()| {
            let i = self.target(labels);
            self.check(i, t, v)?;
            Ok(SeriesRef(self.targets[i].sref))
        });
        self.counted(r)
    }

    fn append_ref(&mut self, r: SeriesRef, t: i64, v: f64) -> Result<(), AppendError> {
        let r = self.target_by_ref(r).and_then(|i| self.check(i, t, v));
        self.counted(r)
    }

    fn commit(self: Box<Self>) -> Result<CommitReport, StorageError> {
        let HeadAppender {
            db,
            snapshot,
            targets,
            mut lasts,
            samples,
            removals_seen,
            ..
        } = *self;
        db.head.note_batch(targets.len());
        db.check_open()?;
        if samples.is_empty() {
            return Ok(CommitReport::default());
        }
        // Shared with other commits; retention, checkpoints, backfill and
        // close take it exclusively, so none of them runs meanwhile.
        let commit = db.commit_lock.read();
        db.check_open()?;
        // Held past the commit lock, until the fsync: `close` takes it
        // exclusively only after the commit lock.
        let wal_guard = db.wal.read();
        let wal = wal_guard.as_ref().ok_or(StorageError::Closed)?;

        let mut resolved = Resolved::new(snapshot, targets);
        if db.head.removals() != removals_seen {
            // Retention dropped series since this batch began: find or
            // create those it holds again, by labels.
            resolved.mark_removed(&db);
        }
        let created = resolved.create_missing(&db, wal)?;
        // Each target's series, found once: every pass below reads it.
        let series = resolved.all_series();
        let mut guards = lock_all(&series, &mut lasts);

        // Re-validate against what the locks show (exact: every writer of
        // a series' last sample holds its lock): other commits may have
        // landed since append().
        let min_valid = db.head.min_valid_time();
        let mut accepted = samples;
        accepted.retain(|&(i, t, v)| {
            let l = &mut lasts[i as usize];
            match validate::check_sample(*l, t, v, min_valid) {
                Ok(Verdict::Append) => {
                    *l = Some(LastSample {
                        t,
                        value: Some(v.to_bits()),
                    });
                    true
                }
                Ok(Verdict::AlreadyStored) => false,
                Err(e) => {
                    db.metrics.count_refusal(&e);
                    false
                }
            }
        });
        drop(lasts);
        if accepted.is_empty() {
            return Ok(CommitReport {
                samples_appended: 0,
                series_created: created,
            });
        }

        // In the OS (so a process crash keeps it) before the head sees it;
        // on disk before commit returns, below.
        let seq = wal.write_record(|out, bases| {
            WalRecord::encode_samples(
                out,
                bases,
                accepted.len(),
                accepted
                    .iter()
                    .map(|&(i, t, v)| (series[i as usize].map_or(u64::MAX, |s| s.series_ref), t, v)),
            )
        })?;

        let mut chunks_opened = 0;
        let mut max_t = i64::MIN;
        for &(i, t, v) in &accepted {
            let (Some(st), Some(series)) = (guards[i as usize].as_mut(), series[i as usize]) else {
                continue;
            };
            chunks_opened += st.append(t, v).chunks_opened;
            series.published.set_last(Some(LastSample {
                t,
                value: Some(v.to_bits()),
            }));
            max_t = max_t.max(t);
        }
        db.head.observe_t(max_t);
        drop(guards);
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

/// Finds a batch's targets by the ref handed out for them. While every
/// ref is larger than the one before, none can repeat and no lookup is
/// needed: scrapes append their series in the order they were created, so
/// most batches never build the map.
enum RefIndex {
    /// Refs have ascended so far; the largest one.
    Ascending(Option<u64>),
    /// Every target by its ref.
    Map(U64Map<u32>),
}

impl RefIndex {
    /// Whether `r` is above every ref so far, so that no target holds it.
    /// The first time it is not, the targets are put in a map, which
    /// answers from then on.
    fn ascends_to(&mut self, r: u64, targets: &[Target]) -> bool {
        if let RefIndex::Ascending(last) = *self {
            if last.is_none_or(|l| r > l) {
                return true;
            }
            let mut map = U64Map::with_capacity_and_hasher(targets.len() * 2, Default::default());
            map.extend(targets.iter().enumerate().map(|(i, t)| (t.sref, i as u32)));
            *self = RefIndex::Map(map);
        }
        false
    }

    /// The target of the series with ref `r`, if the batch has one.
    fn find(&mut self, r: u64, targets: &[Target]) -> Option<usize> {
        if self.ascends_to(r, targets) {
            return None;
        }
        match self {
            RefIndex::Map(map) => map.get(&r).map(|&i| i as usize),
            RefIndex::Ascending(_) => None,
        }
    }

    /// Records that target `i`, about to be pushed, holds ref `r`, which
    /// no target held before.
    fn note(&mut self, r: u64, i: usize, targets: &[Target]) {
        if self.ascends_to(r, targets) {
            *self = RefIndex::Ascending(Some(r));
            return;
        }
        if let RefIndex::Map(map) = self {
            map.insert(r, i as u32);
        }
    }
}

/// The batch's targets on their way to live series, under the commit lock.
struct Resolved {
    snapshot: Arc<RefTable>,
    targets: Vec<Target>,
    /// Targets with samples whose series must be found or created by labels.
    missing: Vec<usize>,
}

type Guards<'a> = Vec<Option<SeriesGuard<'a, SeriesState>>>;

impl Resolved {
    fn new(snapshot: Arc<RefTable>, targets: Vec<Target>) -> Self {
        let missing = targets
            .iter()
            .enumerate()
            .filter(|(_, t)| t.has_samples && t.series.is_none())
            .map(|(i, _)| i)
            .collect();
        Resolved {
            snapshot,
            targets,
            missing,
        }
    }

    fn series(&self, i: usize) -> Option<&MemSeries> {
        match self.targets[i].series.as_ref()? {
            Handle::InSnapshot(r) => self.snapshot.get(*r).map(|s| &**s),
            Handle::Owned(s) => Some(s),
        }
    }

    /// Finds or creates the series of every missing target. New ones are
    /// logged before they enter the index, under its write lock: a commit
    /// can only log samples for a series it found there. Returns how many
    /// series were created.
    fn create_missing(&mut self, db: &Inner, wal: &Wal) -> Result<usize, StorageError> {
        if self.missing.is_empty() {
            return Ok(0);
        }
        let mut idx = db.head.index.write();
        let mut new_series: Vec<(u64, PackedLabels)> = Vec::new();
        // Target → entry of `new_series`; the same labels may be missing
        // twice (a removed series and a new target that names it again).
        let mut placed: Vec<(usize, usize)> = Vec::new();
        // Only removed series' targets can repeat labels: the appender
        // merged its new series by labels already.
        let any_removed = self.missing.iter().any(|&i| self.targets[i].sref == u64::MAX);
        let mut new_by_hash: U64Map<SmallVec<[usize; 1]>> = U64Map::default();
        for i in std::mem::take(&mut self.missing) {
            let t = &mut self.targets[i];
            let Some(labels) = t.labels.take() else {
                continue;
            };
            let hash = labels.stable_hash();
            if let Some(s) = idx.get_by_packed(hash, &labels) {
                t.series = Some(Handle::Owned(s.clone()));
                continue;
            }
            if any_removed {
                let same = new_by_hash.entry(hash).or_default();
                if let Some(&n) = same.iter().find(|&&n| new_series[n].1 == labels) {
                    placed.push((i, n));
                    continue;
                }
                same.push(new_series.len());
            }
            // The ref reserved at append, which only this appender can
            // use; a removed series' ref is never used again.
            let r = if t.sref == u64::MAX {
                idx.reserve_ref()
            } else {
                t.sref
            };
            placed.push((i, new_series.len()));
            new_series.push((r, labels));
        }
        if new_series.is_empty() {
            return Ok(0);
        }
        wal.write_record(|out, _| {
            WalRecord::encode_packed_series(out, &new_series);
            None
        })?;
        let series: Vec<Arc<MemSeries>> = new_series
            .iter()
            .map(|(r, labels)| idx.insert_packed(*r, labels))
            .collect();
        for (i, n) in placed {
            self.targets[i].series = Some(Handle::Owned(series[n].clone()));
        }
        Ok(series.len())
    }

    /// Every target's series, for targets with samples.
    fn all_series(&self) -> Vec<Option<&MemSeries>> {
        (0..self.targets.len())
            .map(|i| {
                if self.targets[i].has_samples {
                    self.series(i)
                } else {
                    None
                }
            })
            .collect()
    }

    /// Makes targets whose series retention removed missing, to be found
    /// or created again by their labels (symbols are never dropped, so
    /// those still resolve).
    fn mark_removed(&mut self, db: &Inner) {
        let idx = db.head.index.read();
        for i in 0..self.targets.len() {
            let Some(old) = self.series(i).filter(|s| s.published.is_removed()) else {
                continue;
            };
            let labels = PackedLabels::new(&idx.labels_of(old));
            let t = &mut self.targets[i];
            t.series = None;
            t.labels = Some(labels);
            t.sref = u64::MAX;
            if t.has_samples {
                self.missing.push(i);
            }
        }
    }
}

/// Locks every series given, in ref order, and reads each one's last
/// sample under its lock into `lasts`. Removal happens only under the
/// exclusive commit lock, and removed series were replaced before this, so
/// none is removed until the commit is done.
fn lock_all<'a>(series: &[Option<&'a MemSeries>], lasts: &mut [Option<LastSample>]) -> Guards<'a> {
    let mut order: Vec<(u64, u32)> = series
        .iter()
        .enumerate()
        .filter_map(|(i, s)| s.map(|s| (s.series_ref, i as u32)))
        .collect();
    if !order.is_sorted() {
        order.sort_unstable();
    }
    let mut guards: Guards<'a> = Vec::with_capacity(series.len());
    guards.resize_with(series.len(), || None);
    for (_, i) in order {
        let Some(s) = series[i as usize] else {
            continue;
        };
        debug_assert!(!s.published.is_removed(), "a commit locked a removed series");
        guards[i as usize] = Some(s.state.lock());
        lasts[i as usize] = s.published.last();
    }
    guards
}
