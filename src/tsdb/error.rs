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
    #[error("corrupt data in {record}: {source}")]
    CorruptRecord {
        record: RecordKey,
        #[source]
        source: LayoutError,
    },
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

/// Which record of `chunks.redb` failed to decode, named by its table and
/// key so an operator can find it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKey {
    Series(u64),
    SeriesRange(u64),
    Chunk { series_ref: u64, min_t: i64 },
    Meta(&'static str),
}

impl std::fmt::Display for RecordKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordKey::Series(r) => write!(f, "series table: series {r}"),
            RecordKey::SeriesRange(r) => write!(f, "series_range table: series {r}"),
            RecordKey::Chunk { series_ref, min_t } => {
                write!(f, "chunks table: series {series_ref} at {min_t}")
            }
            RecordKey::Meta(key) => write!(f, "meta table: {key}"),
        }
    }
}

/// Why bytes read from `chunks.redb` do not decode: the reason only, the
/// caller names the record with [`LayoutError::at`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LayoutError {
    #[error("value of {len} bytes, expected {expected}")]
    WrongLength { len: usize, expected: usize },
    #[error("chunk value of {len} bytes is shorter than its header")]
    ChunkTooShort { len: usize },
    #[error("labels truncated inside a varint")]
    TruncatedVarint,
    #[error("varint longer than 10 bytes")]
    VarintTooLong,
    #[error("labels truncated inside a string")]
    TruncatedString,
    #[error("label string is not utf-8: {0}")]
    NotUtf8(#[from] std::str::Utf8Error),
    #[error("{0} trailing bytes after labels")]
    TrailingBytes(usize),
    #[error("labels are not sorted, unique and non-empty")]
    UnsortedLabels,
    #[error("unknown format version {0}")]
    UnknownFormatVersion(u32),
    #[error("missing, but the series table has rows")]
    MissingFormatVersion,
}

impl LayoutError {
    pub(crate) fn at(self, record: RecordKey) -> StorageError {
        StorageError::CorruptRecord { record, source: self }
    }
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
