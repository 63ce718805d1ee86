//! Delivering a group's alerts to one integration of a receiver. Every
//! integration (`email`, `webhook`, `slack`, `msteamsv2`, `discord`,
//! `telegram`, `pagerduty`) implements [`Notifier`]; the pipeline in
//! `crate::alerting::pipeline` retries and counts, the notifier only sends.

mod chat_http;
pub mod discord;
pub mod email;
pub mod msteamsv2;
mod notifier;
pub mod pagerduty;
mod setup_error;
pub mod slack;
mod smtp_tls;
pub mod telegram;
pub mod template;
mod truncate;
pub mod webhook;

pub use notifier::{Delivered, Notification, NotifiedAlert, Notifier, NotifyError, NotifyFuture, ReportMail};
pub use setup_error::SetupError;

#[cfg(test)]
pub(crate) use notifier::tests;
