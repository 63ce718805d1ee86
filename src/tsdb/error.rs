//! Errors of the storage engine.

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
}
