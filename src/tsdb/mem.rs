//! `MemStorage`: an in-memory [`Storage`] with the real engine's append rules
//! and no persistence, for testing the layers above storage (PromQL, rules,
//! APIs) without a data directory.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::RwLock;

use crate::model::{FloatHistogram, Labels, Matcher};

use super::mem_histograms::MemHistograms;
use super::validate::{self, DEFAULT_HEAD_WINDOW_MS, LastSample, Verdict};
use super::{
    AppendError, Appender, BackfillReport, CommitReport, HistogramSeries, Querier, SampleIter,
    SelectedSeries, SeriesRef, Storage, StorageError, TsdbStats,
};

#[derive(Default)]
struct MemInner {
    series: BTreeMap<Labels, Vec<(i64, f64)>>,
    /// Native-histogram samples, kept apart from the floats.
    histograms: MemHistograms,
    /// Each series' ref, and back.
    refs: HashMap<Labels, u64>,
    by_ref: HashMap<u64, Labels>,
    /// Newest timestamp committed through an appender (the head window).
    max_t: Option<i64>,
}

impl MemInner {
    fn last(&self, labels: &Labels) -> Option<LastSample> {
        let &(t, v) = self.series.get(labels)?.last()?;
        Some(LastSample {
            t,
            value: Some(v.to_bits()),
        })
    }

    fn min_valid_time(&self, window_ms: i64) -> i64 {
        validate::min_valid_time(self.max_t.unwrap_or(i64::MIN), window_ms)
    }
}

/// In-memory storage; cheap to clone handles via `Arc`.
pub struct MemStorage {
    inner: Arc<RwLock<MemInner>>,
    /// The next ref to hand out; refs are never reused.
    next_ref: Arc<AtomicU64>,
    window_ms: i64,
}

impl Default for MemStorage {
    fn default() -> Self {
        Self::new()
    }
}

impl MemStorage {
    pub fn new() -> Self {
        MemStorage {
            inner: Arc::default(),
            next_ref: Arc::default(),
            window_ms: DEFAULT_HEAD_WINDOW_MS,
        }
    }

    /// Writes native-histogram samples (what rule unit tests load), merging
    /// with what the series has: a timestamp the series already has is
    /// skipped and counted, as `backfill` does for floats.
    pub fn backfill_histograms(
        &self,
        series: Vec<(Labels, Vec<(i64, FloatHistogram)>)>,
    ) -> Result<BackfillReport, StorageError> {
        let mut report = BackfillReport::default();
        let mut inner = self.inner.write();
        for (labels, samples) in series {
            if validate::check_labels(&labels).is_err() {
                report.samples_skipped += samples.len();
                continue;
            }
            let (written, skipped) = inner.histograms.insert(labels, samples);
            report.samples_written += written;
            report.samples_skipped += skipped;
        }
        Ok(report)
    }
}

impl Storage for MemStorage {
    fn appender(&self) -> Box<dyn Appender> {
        Box::new(MemAppender {
            inner: self.inner.clone(),
            next_ref: self.next_ref.clone(),
            window_ms: self.window_ms,
            batch: Vec::new(),
            pending_last: HashMap::new(),
            reserved: HashMap::new(),
            reserved_by_ref: HashMap::new(),
        })
    }

    fn querier(&self) -> Box<dyn Querier> {
        Box::new(MemQuerier {
            inner: self.inner.clone(),
        })
    }

    fn stats(&self, top_n: usize) -> TsdbStats {
        let inner = self.inner.read();
        let mut by_name: BTreeMap<String, u64> = BTreeMap::new();
        let mut values_by_label: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut bytes_by_label: BTreeMap<String, u64> = BTreeMap::new();
        let mut by_pair: BTreeMap<String, u64> = BTreeMap::new();
        let (mut min_time, mut max_time) = (i64::MAX, i64::MIN);
        for (labels, samples) in &inner.series {
            if let Some(n) = labels.metric_name() {
                *by_name.entry(n.to_string()).or_default() += 1;
            }
            for l in labels {
                values_by_label
                    .entry(l.name.clone())
                    .or_default()
                    .insert(l.value.clone());
                *bytes_by_label.entry(l.name.clone()).or_default() += l.value.len() as u64;
                *by_pair.entry(format!("{}={}", l.name, l.value)).or_default() += 1;
            }
            if let (Some(first), Some(last)) = (samples.first(), samples.last()) {
                min_time = min_time.min(first.0);
                max_time = max_time.max(last.0);
            }
        }
        let num_label_pairs = values_by_label.values().map(|v| v.len() as u64).sum();
        TsdbStats {
            num_series: inner.series.len() as u64,
            num_label_pairs,
            chunk_count: 0,
            min_time: if min_time == i64::MAX { 0 } else { min_time },
            max_time: if max_time == i64::MIN { 0 } else { max_time },
            series_count_by_metric_name: top(by_name, top_n),
            label_value_count_by_label_name: top(
                values_by_label
                    .into_iter()
                    .map(|(k, v)| (k, v.len() as u64))
                    .collect(),
                top_n,
            ),
            memory_in_bytes_by_label_name: top(bytes_by_label, top_n),
            series_count_by_label_value_pair: top(by_pair, top_n),
        }
    }

    fn backfill(&self, series: Vec<(Labels, Vec<(i64, f64)>)>) -> Result<BackfillReport, StorageError> {
        let mut report = BackfillReport::default();
        let mut inner = self.inner.write();
        for (labels, mut samples) in series {
            if validate::check_labels(&labels).is_err() {
                report.samples_skipped += samples.len();
                continue;
            }
            samples.sort_by_key(|s| s.0);
            if !inner.refs.contains_key(&labels) {
                let r = self.next_ref.fetch_add(1, Ordering::Relaxed);
                inner.refs.insert(labels.clone(), r);
                inner.by_ref.insert(r, labels.clone());
            }
            let existing = inner.series.entry(labels).or_insert_with(|| {
                report.series_created += 1;
                Vec::new()
            });
            let (written, skipped) = merge_samples(existing, samples);
            report.samples_written += written;
            report.samples_skipped += skipped;
        }
        Ok(report)
    }
}

/// Merges `samples` into a series' time-ordered samples; one at a
/// timestamp the series already has is skipped, never overwritten.
/// Returns (written, skipped).
pub(super) fn merge_samples<T>(existing: &mut Vec<(i64, T)>, samples: Vec<(i64, T)>) -> (usize, usize) {
    let mut merged: BTreeMap<i64, T> = existing.drain(..).collect();
    let (mut written, mut skipped) = (0, 0);
    for (t, v) in samples {
        match merged.entry(t) {
            std::collections::btree_map::Entry::Occupied(_) => skipped += 1,
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(v);
                written += 1;
            }
        }
    }
    *existing = merged.into_iter().collect();
    (written, skipped)
}

/// The newest-first top `n` of a count map, ties by name.
pub(crate) fn top(map: BTreeMap<String, u64>, n: usize) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = map.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(n);
    v
}

struct MemAppender {
    inner: Arc<RwLock<MemInner>>,
    next_ref: Arc<AtomicU64>,
    window_ms: i64,
    batch: Vec<(Labels, i64, f64)>,
    pending_last: HashMap<Labels, LastSample>,
    /// Refs handed out for series this batch would create, and back.
    reserved: HashMap<Labels, u64>,
    reserved_by_ref: HashMap<u64, Labels>,
}

impl Appender for MemAppender {
    fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<SeriesRef, AppendError> {
        validate::check_labels(labels)?;
        let (last, min_valid, known) = {
            let inner = self.inner.read();
            let last = self
                .pending_last
                .get(labels)
                .copied()
                .or_else(|| inner.last(labels));
            (
                last,
                inner.min_valid_time(self.window_ms),
                inner.refs.get(labels).copied(),
            )
        };
        let r = match known.or_else(|| self.reserved.get(labels).copied()) {
            Some(r) => r,
            None => {
                let r = self.next_ref.fetch_add(1, Ordering::Relaxed);
                self.reserved.insert(labels.clone(), r);
                self.reserved_by_ref.insert(r, labels.clone());
                r
            }
        };
        if validate::check_sample(last, t, v, min_valid)? == Verdict::AlreadyStored {
            return Ok(SeriesRef(r));
        }
        self.pending_last.insert(
            labels.clone(),
            LastSample {
                t,
                value: Some(v.to_bits()),
            },
        );
        self.batch.push((labels.clone(), t, v));
        Ok(SeriesRef(r))
    }

    fn append_ref(&mut self, r: SeriesRef, t: i64, v: f64) -> Result<(), AppendError> {
        let labels = match self.reserved_by_ref.get(&r.0) {
            Some(labels) => labels.clone(),
            None => self
                .inner
                .read()
                .by_ref
                .get(&r.0)
                .cloned()
                .ok_or(AppendError::UnknownSeriesRef)?,
        };
        self.append(&labels, t, v).map(|_| ())
    }

    fn commit(self: Box<Self>) -> Result<CommitReport, StorageError> {
        let mut report = CommitReport::default();
        let mut inner = self.inner.write();
        let min_valid = inner.min_valid_time(self.window_ms);
        let mut batch_max = None;
        for (labels, t, v) in self.batch {
            // Another appender may have committed newer samples since append().
            match validate::check_sample(inner.last(&labels), t, v, min_valid) {
                Ok(Verdict::Append) => {}
                Ok(Verdict::AlreadyStored) | Err(_) => continue,
            }
            if !inner.refs.contains_key(&labels) {
                // Only the ref this batch handed out names the new series.
                let r = match self.reserved.get(&labels) {
                    Some(&r) => r,
                    None => self.next_ref.fetch_add(1, Ordering::Relaxed),
                };
                inner.refs.insert(labels.clone(), r);
                inner.by_ref.insert(r, labels.clone());
            }
            let samples = inner.series.entry(labels).or_insert_with(|| {
                report.series_created += 1;
                Vec::new()
            });
            samples.push((t, v));
            report.samples_appended += 1;
            batch_max = batch_max.max(Some(t));
        }
        inner.max_t = inner.max_t.max(batch_max);
        Ok(report)
    }

    fn rollback(self: Box<Self>) {}
}

struct MemQuerier {
    inner: Arc<RwLock<MemInner>>,
}

fn matches_all(matchers: &[Matcher], labels: &Labels) -> bool {
    matchers
        .iter()
        .all(|m| m.matches(labels.get(&m.name).unwrap_or("")))
}

impl MemQuerier {
    /// Label sets of histogram series matching all matchers with samples
    /// in `[mint, maxt]`.
    fn histogram_series(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Vec<Labels> {
        let inner = self.inner.read();
        inner
            .histograms
            .series()
            .filter(|(labels, samples)| {
                matches_all(matchers, labels) && samples.iter().any(|(t, _)| (mint..=maxt).contains(t))
            })
            .map(|(labels, _)| labels.clone())
            .collect()
    }

    /// Series matching all matchers with samples in `[mint, maxt]`.
    fn matching<T>(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
        mut each: impl FnMut(&Labels, &[(i64, f64)]) -> Option<T>,
    ) -> Vec<T> {
        let inner = self.inner.read();
        let mut out = Vec::new();
        for (labels, samples) in &inner.series {
            if !matches_all(matchers, labels) {
                continue;
            }
            let lo = samples.partition_point(|s| s.0 < mint);
            let hi = samples.partition_point(|s| s.0 <= maxt);
            if lo >= hi {
                continue;
            }
            if let Some(x) = each(labels, &samples[lo..hi]) {
                out.push(x);
            }
        }
        out
    }
}

impl Querier for MemQuerier {
    fn select(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<SelectedSeries>, StorageError> {
        Ok(self.matching(matchers, mint, maxt, |labels, samples| {
            Some(SelectedSeries {
                labels: labels.clone(),
                samples: Box::new(VecSampleIter {
                    samples: samples.to_vec(),
                    pos: 0,
                }),
            })
        }))
    }

    fn select_histograms(
        &self,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<HistogramSeries>, StorageError> {
        let inner = self.inner.read();
        Ok(inner
            .histograms
            .select(&inner.series, |labels| matches_all(matchers, labels), mint, maxt))
    }

    fn label_names(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<String>, StorageError> {
        let mut names = BTreeSet::new();
        self.matching(matchers, mint, maxt, |labels, _| {
            names.extend(labels.iter().map(|l| l.name.clone()));
            None::<()>
        });
        for labels in self.histogram_series(matchers, mint, maxt) {
            names.extend(labels.iter().map(|l| l.name.clone()));
        }
        Ok(names.into_iter().collect())
    }

    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, StorageError> {
        let mut values = BTreeSet::new();
        self.matching(matchers, mint, maxt, |labels, _| {
            if let Some(v) = labels.get(name) {
                values.insert(v.to_string());
            }
            None::<()>
        });
        for labels in self.histogram_series(matchers, mint, maxt) {
            if let Some(v) = labels.get(name) {
                values.insert(v.to_string());
            }
        }
        Ok(values.into_iter().collect())
    }
}

struct VecSampleIter {
    samples: Vec<(i64, f64)>,
    pos: usize,
}

impl SampleIter for VecSampleIter {
    fn next(&mut self) -> Option<(i64, f64)> {
        let s = self.samples.get(self.pos).copied()?;
        self.pos += 1;
        Some(s)
    }

    fn next_batch(&mut self, out: &mut Vec<(i64, f64)>) -> bool {
        // Chunk-sized pieces, as the real store hands them out.
        let end = self.samples.len().min(self.pos + 120);
        out.extend_from_slice(&self.samples[self.pos..end]);
        let any = end > self.pos;
        self.pos = end;
        any
    }

    fn seek(&mut self, t: i64) -> Option<(i64, f64)> {
        self.pos += self.samples[self.pos..].partition_point(|s| s.0 < t);
        self.next()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::MemStorage;
    use crate::tsdb::suite::Harness;

    fn harness() -> Harness {
        Harness::new(Arc::new(MemStorage::new()))
    }

    crate::storage_suite!(harness);
}
