//! Alert routing and notification — Alertmanager inside Belfry. Alerts
//! arrive through `crate::model::AlertSink` (rules, the `/api/v2/alerts`
//! API, error and log rules) without saying where from; the [`Dispatcher`]
//! routes them through the tree, groups, mutes (silences, inhibition, time
//! intervals), deduplicates against the notification log, and hands them
//! to the notifiers (`notify/`).

pub mod dispatcher;
pub mod error;
pub mod fingerprint;
pub mod group;
pub mod inhibit;
pub mod metrics;
pub mod nflog;
pub mod notify;
mod pipeline;
pub mod route;
pub mod silence;
pub mod store;

pub use dispatcher::{AlertGroupView, AlertView, Dispatcher, DispatcherOptions};
pub use error::AlertingError;
pub use silence::{Silence, SilenceMatcher, SilenceState};
