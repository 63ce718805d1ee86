//! Delivering a group's alerts to one integration of a receiver. Every
//! integration (`email`, `webhook`) implements [`Notifier`]; the pipeline in
//! `crate::alerting::pipeline` retries and counts, the notifier only sends.

pub mod email;
mod notifier;
mod setup_error;
mod smtp_tls;
pub mod template;
pub mod webhook;

pub use notifier::{Notification, NotifiedAlert, Notifier, NotifyError, NotifyFuture};
pub use setup_error::SetupError;

#[cfg(test)]
pub(crate) use notifier::tests;
