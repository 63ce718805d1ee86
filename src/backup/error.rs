//! Why a backup could not be taken, streamed or unpacked.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("a backup is already being taken; try again when it is done")]
    Running,
    #[error("backup i/o error at {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot copy the state store: {0}")]
    State(#[from] crate::state::StateError),
    #[error("cannot copy the metrics store: {0}")]
    Metrics(#[from] crate::tsdb::StorageError),
    #[error("cannot copy the logs store: {0}")]
    Logs(#[from] crate::logs::LogsError),
    #[error("cannot write the archive: {0}")]
    Stream(std::io::Error),
    #[error("{0} is not empty: a backup goes into a new or empty directory")]
    TargetNotEmpty(PathBuf),
    #[error("the archive is damaged: {0}")]
    Damaged(String),
}

impl BackupError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        BackupError::Io {
            path: path.into(),
            source,
        }
    }
}
