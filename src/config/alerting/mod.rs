//! The `alerting:` section: Alertmanager's `alertmanager.yml` format, so an
//! existing file pastes in unchanged. Serde shapes, Alertmanager's
//! defaults, and validation whose errors name the file and line.

mod error;
mod global;
mod http_config;
mod inhibit;
mod invalid;
mod locate;
mod receiver;
mod route;
mod section;
mod smarthost;
mod smtp_auth;
mod time_interval;
mod time_interval_periods;

pub use error::AlertingConfigError;
pub use global::AlertingGlobal;
pub use http_config::HttpClientConfig;
pub use inhibit::InhibitRuleConfig;
pub(crate) use invalid::Invalid;
pub use receiver::{EmailConfig, EmailTlsConfig, ReceiverConfig, WebhookConfig};
pub use route::{DEFAULT_GROUP_INTERVAL, DEFAULT_GROUP_WAIT, DEFAULT_REPEAT_INTERVAL, RouteConfig};
pub use section::AlertingConfig;
pub use time_interval::{TimeIntervalConfig, TimeIntervalSpec, TimeRangeConfig};
pub use time_interval_periods::TimeInterval;

#[cfg(test)]
mod tests;
