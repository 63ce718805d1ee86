//! Why the state store could not be opened, read or written.

use std::path::Path;

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
    #[error("state store {path}: migration from version {from} failed: {message}")]
    Migration {
        path: String,
        from: u64,
        message: String,
    },
    #[error("state store writer has stopped")]
    WriterStopped,
}

impl StateError {
    pub(crate) fn db(path: &Path, e: impl Into<redb::Error>) -> StateError {
        StateError::Db {
            path: path.display().to_string(),
            message: e.into().to_string(),
        }
    }
}
