//! The metrics storage engine: an in-memory head of Gorilla chunks behind a
//! write-ahead log, sealed chunks persisted in redb, postings for selection,
//! retention and a `pco` compactor. Callers see only [`Storage`],
//! [`Appender`] and [`Querier`]; [`Tsdb`] is the real engine and
//! [`MemStorage`] the in-memory one for tests of the layers above.

mod backfill;
mod backup;
pub mod chunk;
mod compactor;
mod db;
#[cfg(test)]
mod engine_tests;
mod error;
mod exemplars;
mod flush;
mod head;
mod index;
mod mem;
mod mem_histograms;
mod metrics;
mod querier;
mod retention;
mod stats;
mod storage;
mod store;
#[cfg(test)]
pub(crate) mod suite;
mod u64_map;
mod validate;
pub mod wal;

pub use backup::MetricsCopy;
pub use compactor::{CompactionReport, DEFAULT_TARGET_SAMPLES};
pub use db::{Tsdb, TsdbOptions, WalReplayStatus};
pub use error::{AppendError, LayoutError, RecordKey, StorageError};
pub use exemplars::{
    Exemplar, ExemplarAppender, ExemplarError, ExemplarStore, MAX_LABEL_SET_CHARS, SeriesExemplars,
};
pub use mem::MemStorage;
pub use retention::RetentionReport;
pub use storage::{
    Appender, BackfillReport, CommitReport, HistogramSeries, Querier, SampleIter, SelectedSeries, SeriesRef,
    Storage, TsdbStats,
};
pub use store::layout::FORMAT_VERSION;
pub use validate::DEFAULT_HEAD_WINDOW_MS;
