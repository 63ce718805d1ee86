//! Everything that can go wrong in the alerting subsystem.

use super::route::RouteError;
use crate::state::StateError;

#[derive(Debug, thiserror::Error)]
pub enum AlertingError {
    /// The alerting configuration cannot be applied (receiver set-up).
    #[error("alerting config: {0}")]
    Config(String),
    /// The routing tree does not compile.
    #[error("alerting config: {0}")]
    Route(#[from] RouteError),
    /// An alert posted to the API is invalid.
    #[error("invalid alert: {0}")]
    BadAlert(String),
    #[error("invalid silence: {0}")]
    BadSilence(String),
    #[error("silence {0} not found")]
    SilenceNotFound(String),
    #[error("silence {0} is already expired")]
    SilenceExpired(String),
    #[error("too many silences (limit {0}); expire some first")]
    TooManySilences(usize),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("{0}")]
    Internal(String),
}
