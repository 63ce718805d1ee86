//! Why a remote-write queue could not start or keep its state.

use std::path::PathBuf;

use crate::http_client::HttpClientError;
use crate::tsdb::wal::WalError;

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("remote_write {name:?}: cannot build the http client: {source}")]
    Client {
        name: String,
        #[source]
        source: HttpClientError,
    },
    #[error("remote_write {name:?}: header {header:?} is not valid")]
    Header { name: String, header: String },
    #[error("remote write position file {path}: {source}")]
    PositionIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("remote write position file {path} is corrupt: {detail}")]
    PositionCorrupt { path: PathBuf, detail: String },
    #[error("remote write cannot read the wal: {0}")]
    Wal(#[from] WalError),
    #[error("remote write is not available: the metrics store is closed")]
    Closed,
    #[error("remote write reader task failed: {0}")]
    Task(String),
}
