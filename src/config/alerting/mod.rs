//! The `alerting:` section: Alertmanager's `alertmanager.yml` format, so an
//! existing file pastes in unchanged. Serde shapes, Alertmanager's
//! defaults, and validation whose errors name the file and line.

mod discord;
mod endpoint;
mod error;
mod global;
mod http_config;
mod inhibit;
mod invalid;
mod locate;
mod msteamsv2;
mod pagerduty;
mod receiver;
mod route;
mod section;
mod slack;
mod smarthost;
mod smtp_auth;
mod telegram;
mod time_interval;
mod time_interval_periods;
mod unsupported;

pub use discord::DiscordConfig;
pub use error::AlertingConfigError;
pub use global::AlertingGlobal;
pub use http_config::HttpClientConfig;
pub use inhibit::InhibitRuleConfig;
pub(crate) use invalid::Invalid;
pub use msteamsv2::MsTeamsV2Config;
pub use pagerduty::{PAGERDUTY_V1_URL, PagerdutyConfig, PagerdutyImage, PagerdutyLink};
pub use receiver::{EmailConfig, EmailTlsConfig, ReceiverConfig, WebhookConfig};
pub use route::{DEFAULT_GROUP_INTERVAL, DEFAULT_GROUP_WAIT, DEFAULT_REPEAT_INTERVAL, RouteConfig};
pub use section::AlertingConfig;
pub use slack::{SlackAction, SlackConfig, SlackConfirm, SlackField};
pub use telegram::TelegramConfig;
pub use time_interval::{TimeIntervalConfig, TimeIntervalSpec, TimeRangeConfig};
pub use time_interval_periods::TimeInterval;
pub use unsupported::{SUPPORTED as SUPPORTED_INTEGRATIONS, Unsupported};

#[cfg(test)]
mod chat_tests;
#[cfg(test)]
mod tests;
