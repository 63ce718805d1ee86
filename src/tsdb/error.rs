//! Errors of the storage engine.

use super::chunk::ChunkError;

/// Why one sample was refused. The caller counts these; the rest of the
/// batch still goes in, as in Prometheus.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AppendError {
    #[error("out of order sample")]
    OutOfOrder,
    #[error("duplicate sample for timestamp")]
    Duplicate,
    #[error("out of bounds: sample is older than the head window")]
    TooOld,
    #[error("invalid labels: {0}")]
    InvalidLabels(String),
    /// Only from `append_ref`: the series ref is not (or no longer) valid;
    /// append by labels instead.
    #[error("unknown series ref: the series was removed, or never committed")]
    UnknownSeriesRef,
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("storage i/o error at {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("storage database error: {0}")]
    Database(String),
    #[error("corrupt data in {what}: {detail}")]
    Corrupt { what: String, detail: String },
    #[error("storage is closed")]
    Closed,
    #[error(
        "{path} has storage format version {found}, but this build reads only up to version {supported}: \
         run a newer belfry on this data directory, or move it aside to start empty"
    )]
    UnsupportedFormat {
        path: std::path::PathBuf,
        found: u32,
        supported: u32,
    },
    #[error("chunk codec error: {0}")]
    Chunk(#[from] ChunkError),
    #[error("write-ahead log error: {0}")]
    Wal(#[from] super::wal::WalError),
}

macro_rules! from_redb {
    ($($t:ty),*) => {
        $(impl From<$t> for StorageError {
            fn from(e: $t) -> Self {
                StorageError::Database(e.to_string())
            }
        })*
    };
}

from_redb!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);
