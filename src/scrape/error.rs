//! Errors of the scrape subsystem: why a configuration could not be applied
//! ([`ScrapeError`]) and why one scrape failed ([`ScrapeFailure`], shown as
//! `lastError` on the targets API).

use crate::http_client::HttpClientError;
use crate::tsdb::StorageError;

use crate::exposition::ParseError;

#[derive(Debug, thiserror::Error)]
pub enum ScrapeError {
    /// A job's HTTP client cannot be built (TLS files, settings).
    #[error("scrape config for job {job:?}: {source}")]
    Job {
        job: String,
        #[source]
        source: HttpClientError,
    },
    #[error("the scrape manager must be used inside a tokio runtime")]
    NoRuntime,
    #[error("the scrape manager has been stopped")]
    Stopped,
}

#[derive(Debug, thiserror::Error)]
pub enum ScrapeFailure {
    #[error("server returned HTTP status {0}")]
    Status(String),
    #[error("{0}")]
    Request(String),
    #[error("scrape timed out after {0:?}")]
    Timeout(std::time::Duration),
    #[error("body size limit exceeded (limit {limit} bytes)")]
    BodySizeLimit { limit: u64 },
    #[error("cannot read credentials file: {0}")]
    Credentials(String),
    #[error("parse error: {0}")]
    Parse(#[from] ParseError),
    #[error("sample limit exceeded (limit {limit})")]
    SampleLimit { limit: u64 },
    #[error("{message}")]
    LabelLimit {
        /// Which limit was hit, the `limit` label of the counter.
        limit: super::label_limit::LabelLimit,
        message: String,
    },
    /// The job has more targets than its `target_limit`; none is scraped.
    #[error("{0}")]
    TargetLimit(String),
    #[error("storage error: {0}")]
    Storage(#[from] StorageError),
    #[error("internal error: {0}")]
    Internal(String),
}
