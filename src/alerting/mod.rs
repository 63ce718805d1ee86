//! Alert routing and notification — Alertmanager inside Belfry. Alerts
//! arrive through `crate::model::AlertSink` handles (rules, the
//! `/api/v2/alerts` API, error alerts), each naming its source, which
//! routing ignores; the [`Dispatcher`] routes them through the tree,
//! groups, mutes (silences, inhibition, time intervals), deduplicates
//! against the notification log, and hands them to the notifiers
//! (`notify/`). The state changes of alerts not from the rules go to the
//! alert history through `crate::model::AlertHistorySink` (`received.rs`).

pub mod dispatcher;
pub mod error;
pub mod fingerprint;
pub mod flood;
pub mod group;
pub mod inhibit;
pub mod metrics;
pub mod nflog;
pub mod notify;
mod pipeline;
mod received;
pub mod receiver_test;
pub mod route;
pub mod silence;
pub mod store;

pub use dispatcher::{AlertGroupView, AlertView, Dispatcher, DispatcherOptions, FloodRouting};
pub use error::AlertingError;
pub use flood::{FloodMode, FloodRefusal, FloodRequest, FloodState};
pub use receiver_test::{ReceiverTestOutcome, TEST_ALERTNAME};
pub use silence::{Silence, SilenceMatcher, SilenceState};
