//! The errors a query can end in, each mapped by the web layer to one of
//! Prometheus's `errorType`s.

use crate::tsdb::StorageError;

use super::params::ParamError;

#[derive(Debug, thiserror::Error)]
pub enum PromqlError {
    /// The query text does not parse or type-check (`bad_data`).
    #[error("{0}")]
    Parse(String),
    /// A parameter of the request or the query is out of bounds (`bad_data`).
    #[error("{0}")]
    BadData(String),
    /// A request parameter (time, duration, step, timeout) is missing,
    /// malformed or out of bounds (`bad_data`).
    #[error(transparent)]
    Param(#[from] ParamError),
    /// Evaluation failed for a reason Prometheus reports as `execution`,
    /// e.g. many-to-many matching or duplicate output series.
    #[error("{0}")]
    Execution(String),
    /// The query would hold more samples than `max_samples` at once.
    #[error("query processing would load too many samples into memory in query execution")]
    TooManySamples,
    #[error("query timed out in {0}")]
    Timeout(&'static str),
    #[error("query was canceled in {0}")]
    Canceled(&'static str),
    #[error("reading storage: {0}")]
    Storage(#[from] StorageError),
}

impl PromqlError {
    /// Prometheus's `errorType` for this error.
    pub fn error_type(&self) -> &'static str {
        match self {
            PromqlError::Parse(_) | PromqlError::BadData(_) | PromqlError::Param(_) => "bad_data",
            PromqlError::Execution(_) | PromqlError::TooManySamples => "execution",
            PromqlError::Timeout(_) => "timeout",
            PromqlError::Canceled(_) => "canceled",
            PromqlError::Storage(_) => "internal",
        }
    }
}
