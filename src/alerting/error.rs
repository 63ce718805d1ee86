//! Everything that can go wrong in the alerting subsystem.

use super::notify::SetupError;
use super::route::RouteError;
use crate::config::alerting::AlertingConfigError;
use crate::state::StateError;

#[derive(Debug, thiserror::Error)]
// The configuration errors are boxed: they are large and rare, and every
// silence and alert call returns this type.
pub enum AlertingError {
    #[error("alerting config: no route provided")]
    NoRoute,
    /// A receiver's integration cannot be built.
    #[error("alerting config: receiver {receiver:?}: {source}")]
    Receiver {
        receiver: String,
        #[source]
        source: Box<SetupError>,
    },
    /// The notification template files.
    #[error("alerting config: {0}")]
    Templates(#[source] Box<SetupError>),
    #[error("alerting config: route uses undefined receiver {0:?}")]
    UndefinedReceiver(String),
    /// An inhibit rule's matchers or a time interval.
    #[error("alerting config: {0}")]
    Config(#[from] Box<AlertingConfigError>),
    /// The routing tree does not compile.
    #[error("alerting config: {0}")]
    Route(#[from] Box<RouteError>),
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
    /// A request to turn alert flood mode on that cannot be honoured.
    #[error("alert flood mode: {message}")]
    FloodRefused {
        reason: super::flood::FloodRefusal,
        message: String,
    },
    #[error("alert flood mode is not on")]
    FloodOff,
    /// A test notification for a receiver the configuration lacks.
    #[error("no receiver {0:?} in the alerting configuration")]
    ReceiverNotFound(String),
    /// Test notifications already in flight at the limit.
    #[error("{0} test notifications are already being sent; try again when they finish")]
    TestsBusy(usize),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("{0}")]
    Internal(String),
}
