//! The metrics storage engine: an in-memory head of Gorilla chunks behind a
//! write-ahead log, sealed chunks persisted in redb, postings for selection,
//! retention and a `pco` compactor. Callers see only [`Storage`],
//! [`Appender`] and [`Querier`].

pub mod chunk;
mod error;
mod index;
mod mem;
mod storage;
#[cfg(test)]
pub(crate) mod suite;
mod validate;

pub use error::{AppendError, StorageError};
pub use mem::MemStorage;
pub use storage::{
    Appender, BackfillReport, CommitReport, Querier, SampleIter, SelectedSeries, Storage, TsdbStats,
};
pub use validate::DEFAULT_HEAD_WINDOW_MS;
