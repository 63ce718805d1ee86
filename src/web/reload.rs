//! `POST /-/reload` and SIGHUP ask the app's one reload loop to apply the
//! configuration file again; the answer says whether it went live or why
//! it was refused (in which case the running configuration stays).

use tokio::sync::{mpsc, oneshot};

use crate::alerting::AlertingError;
use crate::config::ConfigError;
use crate::rules::RuleError;
use crate::scrape::ScrapeError;

/// Why a reload did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Alerting(#[from] AlertingError),
    #[error(transparent)]
    Scrape(#[from] ScrapeError),
    #[error(transparent)]
    Rules(#[from] RuleError),
    #[error(transparent)]
    Remote(#[from] crate::remote::RemoteError),
    #[error("the reload task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("the reload loop has stopped")]
    LoopStopped,
    #[error("the reload loop dropped the request")]
    RequestDropped,
}

/// A request to reload the configuration, answered on the channel.
pub type ReloadRequest = oneshot::Sender<Result<(), ReloadError>>;

/// Sends reload requests to the app's reload loop (shared with SIGHUP).
#[derive(Clone)]
pub struct ReloadHandle(mpsc::Sender<ReloadRequest>);

impl ReloadHandle {
    pub fn new(tx: mpsc::Sender<ReloadRequest>) -> Self {
        ReloadHandle(tx)
    }

    pub async fn reload(&self) -> Result<(), ReloadError> {
        let (tx, rx) = oneshot::channel();
        self.0.send(tx).await.map_err(|_| ReloadError::LoopStopped)?;
        rx.await.map_err(|_| ReloadError::RequestDropped)?
    }
}
