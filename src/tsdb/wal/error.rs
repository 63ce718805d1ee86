//! Why the write-ahead log could not do what was asked.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum WalError {
    #[error("wal i/o error at {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("corrupt wal record in {path} at byte {offset}: {detail}")]
    Corrupt {
        path: PathBuf,
        offset: u64,
        detail: String,
    },
    #[error("invalid wal options: {0}")]
    InvalidOptions(String),
    #[error("wal record of {size} bytes exceeds the {limit}-byte limit; send smaller batches")]
    RecordTooLarge { size: usize, limit: usize },
    #[error("wal is unusable after an earlier write or fsync failure ({0}); restart to recover")]
    Failed(String),
}

impl WalError {
    pub(super) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        WalError::Io {
            path: path.into(),
            source,
        }
    }
}

/// A payload that passed its CRC but does not decode: the reason only,
/// the caller adds where it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError(pub String);

impl std::fmt::Display for DecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
