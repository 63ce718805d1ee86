//! Why the state store could not be opened, read or written.

use std::path::Path;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot create state directory {path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("state store {path}: {message}")]
    Db { path: String, message: String },
    #[error(
        "state store {path} has schema version {found}, newer than this build supports ({supported}); \
         run a newer belfry or restore a backup"
    )]
    TooNew {
        path: String,
        found: u64,
        supported: u64,
    },
    #[error("state store {path}: migration from version {from} failed: {source}")]
    Migration {
        path: String,
        from: u64,
        #[source]
        source: Box<StateError>,
    },
    #[error("state store {path}: migration from version {from} failed: no upgrade step from version {from}")]
    NoMigration { path: String, from: u64 },
    #[error("state store writer has stopped")]
    WriterStopped,
    /// A group commit failed; every write in the batch gets the same error.
    #[error(transparent)]
    BatchFailed(Arc<StateError>),
}

impl StateError {
    pub(crate) fn db(path: &Path, e: impl Into<redb::Error>) -> StateError {
        StateError::Db {
            path: path.display().to_string(),
            message: e.into().to_string(),
        }
    }
}
