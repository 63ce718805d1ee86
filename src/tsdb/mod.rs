//! The metrics storage engine: an in-memory head of Gorilla chunks behind a
//! write-ahead log, sealed chunks persisted in redb, postings for selection,
//! retention and a `pco` compactor. Callers see only [`Storage`],
//! [`Appender`] and [`Querier`].

pub mod chunk;
mod error;
mod storage;
pub mod wal;

pub use error::{AppendError, StorageError};
pub use storage::{
    Appender, BackfillReport, CommitReport, Querier, SampleIter, SelectedSeries, Storage, TsdbStats,
};
