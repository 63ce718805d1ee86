//! The interfaces between the storage engine and everything above it.
//!
//! Writers take an [`Appender`], buffer samples and `commit` them: a
//! successful commit means the batch is in the write-ahead log. Readers take a
//! [`Querier`], select series by matchers and stream samples lazily, chunk by
//! chunk, through [`SampleIter`].

use std::sync::Arc;

use crate::model::{FloatHistogram, Labels, Matcher};

use super::{AppendError, StorageError};

/// A storage engine: the real one (`tsdb::Tsdb`) or the in-memory one used
/// by tests (`tsdb::MemStorage`). Both pass the same test suite.
pub trait Storage: Send + Sync + 'static {
    /// Starts a batch of writes.
    fn appender(&self) -> Box<dyn Appender>;
    /// A read view; it sees every batch committed before it was taken.
    fn querier(&self) -> Box<dyn Querier>;
    /// Figures for `/api/v1/status/tsdb`.
    fn stats(&self, top_n: usize) -> TsdbStats;
    /// Writes old samples (e.g. from `belfry import`) straight to persisted
    /// storage, merging with what is there; samples that collide with stored
    /// ones are skipped and counted, never overwritten.
    fn backfill(&self, series: Vec<(Labels, Vec<(i64, f64)>)>) -> Result<BackfillReport, StorageError>;
}

/// What a backfill did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct BackfillReport {
    pub samples_written: usize,
    pub samples_skipped: usize,
    pub series_created: usize,
}

/// A handle on one stored series, handed out by [`Appender::append`] so the
/// next scrape can append to the series without finding it by its labels
/// again (what Prometheus's appenders return as a `SeriesRef`).
///
/// Valid for the life of the series in the store that returned it, in
/// every later appender of that store:
/// - for a series the batch creates, from the moment the batch commits
///   (and within the batch itself); if the batch is rolled back, or another
///   writer created the same series first, it never becomes valid;
/// - until retention removes the series (only series that hold no data
///   anywhere are removed).
///
/// A ref that is not valid is never taken for another series (refs are
/// never reused): [`Appender::append_ref`] refuses it with
/// [`AppendError::UnknownSeriesRef`], and the caller appends by labels
/// instead, which returns the current ref.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SeriesRef(pub(crate) u64);

pub trait Appender: Send {
    /// Buffers one sample. Order and duplicate checks happen here, against
    /// the head and earlier samples of this batch, so the caller can count
    /// each refusal; a refused sample does not spoil the batch. Returns the
    /// series' ref for [`Appender::append_ref`].
    fn append(&mut self, labels: &Labels, t: i64, v: f64) -> Result<SeriesRef, AppendError>;

    /// [`Appender::append`] for the series `r` names, under the same
    /// checks. Fails with [`AppendError::UnknownSeriesRef`] (nothing
    /// buffered) when `r` is not valid (see [`SeriesRef`]).
    fn append_ref(&mut self, r: SeriesRef, t: i64, v: f64) -> Result<(), AppendError>;

    /// Writes the batch to the WAL, then makes it visible to queriers.
    fn commit(self: Box<Self>) -> Result<CommitReport, StorageError>;

    /// Drops the batch.
    fn rollback(self: Box<Self>);
}

/// What a commit did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CommitReport {
    pub samples_appended: usize,
    pub series_created: usize,
}

pub trait Querier: Send {
    /// Series matching every matcher (at least one must not match the empty
    /// string) that have samples in `[mint, maxt]`, sorted by labels.
    fn select(&self, matchers: &[Matcher], mint: i64, maxt: i64)
    -> Result<Vec<SelectedSeries>, StorageError>;

    /// Native-histogram samples of the series matching every matcher, in
    /// `[mint, maxt]`, sorted by labels. A series may hold floats and
    /// histograms at different times; its floats come from `select`. Only
    /// `MemStorage` holds histograms (rule unit tests load them); the
    /// persistent engine stores floats only, hence the empty default.
    fn select_histograms(
        &self,
        _matchers: &[Matcher],
        _mint: i64,
        _maxt: i64,
    ) -> Result<Vec<HistogramSeries>, StorageError> {
        Ok(Vec::new())
    }

    /// Label names, sorted, of series matching all matchers (all series when
    /// `matchers` is empty) with samples in `[mint, maxt]`.
    fn label_names(&self, matchers: &[Matcher], mint: i64, maxt: i64) -> Result<Vec<String>, StorageError>;

    /// Values of one label, sorted, under the same rules as `label_names`.
    fn label_values(
        &self,
        name: &str,
        matchers: &[Matcher],
        mint: i64,
        maxt: i64,
    ) -> Result<Vec<String>, StorageError>;
}

/// One selected series and a lazy iterator over its samples in the range.
pub struct SelectedSeries {
    pub labels: Labels,
    pub samples: Box<dyn SampleIter>,
}

/// One series' native-histogram samples, in ascending time order.
pub struct HistogramSeries {
    pub labels: Labels,
    pub samples: Vec<(i64, Arc<FloatHistogram>)>,
}

/// Samples in ascending time order, decoded one chunk at a time.
pub trait SampleIter: Send {
    fn next(&mut self) -> Option<(i64, f64)>;
    /// Appends the next samples (at least one, unless the iterator is
    /// exhausted) to `out` and says whether it appended any. Readers that
    /// walk a whole series use it to take a decoded chunk at a time instead
    /// of making a call per sample.
    fn next_batch(&mut self, out: &mut Vec<(i64, f64)>) -> bool {
        match self.next() {
            Some(s) => {
                out.push(s);
                true
            }
            None => false,
        }
    }
    /// Advances to the first sample with timestamp `>= t` and returns it.
    fn seek(&mut self, t: i64) -> Option<(i64, f64)> {
        loop {
            let s = self.next()?;
            if s.0 >= t {
                return Some(s);
            }
        }
    }
}

#[derive(Debug, Default, Clone, PartialEq, serde::Serialize)]
pub struct TsdbStats {
    pub num_series: u64,
    pub num_label_pairs: u64,
    pub chunk_count: u64,
    pub min_time: i64,
    pub max_time: i64,
    /// (metric name, series count), highest first.
    pub series_count_by_metric_name: Vec<(String, u64)>,
    /// (label name, distinct values), highest first.
    pub label_value_count_by_label_name: Vec<(String, u64)>,
    /// (label name, bytes used by its values), highest first.
    pub memory_in_bytes_by_label_name: Vec<(String, u64)>,
    /// ("name=value", series count), highest first.
    pub series_count_by_label_value_pair: Vec<(String, u64)>,
}
