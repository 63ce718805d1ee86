//! `global:` of the alerting section: SMTP defaults every e-mail receiver
//! inherits, the Slack, PagerDuty and Telegram endpoints and credentials
//! their integrations inherit, `http_config`, and `resolve_timeout`.

use std::path::PathBuf;

use serde::Deserialize;

use super::Invalid;
use super::http_config::{HttpClientConfig, default_true};
use crate::config::Secret;
use crate::model::PromDuration;

#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlertingGlobal {
    /// An alert without `endsAt` that is not re-sent within this time is
    /// considered resolved.
    #[serde(default = "default_resolve_timeout")]
    pub resolve_timeout: PromDuration,
    #[serde(default)]
    pub smtp_from: Option<String>,
    #[serde(default = "default_hello")]
    pub smtp_hello: String,
    /// `host:port`; port 465 means implicit TLS, anything else STARTTLS
    /// (required unless `smtp_require_tls: false`).
    #[serde(default)]
    pub smtp_smarthost: Option<String>,
    #[serde(default)]
    pub smtp_auth_username: Option<String>,
    #[serde(default)]
    pub smtp_auth_password: Secret,
    #[serde(default)]
    pub smtp_auth_password_file: Option<PathBuf>,
    #[serde(default)]
    pub smtp_auth_identity: Option<String>,
    #[serde(default)]
    pub smtp_auth_secret: Secret,
    #[serde(default = "default_true")]
    pub smtp_require_tls: bool,
    /// Default HTTP client settings for the HTTP integrations.
    #[serde(default)]
    pub http_config: Option<HttpClientConfig>,
    #[serde(default)]
    pub slack_api_url: Secret,
    #[serde(default)]
    pub slack_api_url_file: Option<PathBuf>,
    #[serde(default)]
    pub slack_app_token: Secret,
    #[serde(default)]
    pub slack_app_token_file: Option<PathBuf>,
    #[serde(default = "default_slack_app_url")]
    pub slack_app_url: String,
    #[serde(default = "default_pagerduty_url")]
    pub pagerduty_url: String,
    #[serde(default = "default_telegram_api_url")]
    pub telegram_api_url: String,
    #[serde(default)]
    pub telegram_bot_token: Secret,
    #[serde(default)]
    pub telegram_bot_token_file: Option<PathBuf>,
}

impl Default for AlertingGlobal {
    fn default() -> Self {
        AlertingGlobal {
            resolve_timeout: default_resolve_timeout(),
            smtp_from: None,
            smtp_hello: default_hello(),
            smtp_smarthost: None,
            smtp_auth_username: None,
            smtp_auth_password: Secret::default(),
            smtp_auth_password_file: None,
            smtp_auth_identity: None,
            smtp_auth_secret: Secret::default(),
            smtp_require_tls: true,
            http_config: None,
            slack_api_url: Secret::default(),
            slack_api_url_file: None,
            slack_app_token: Secret::default(),
            slack_app_token_file: None,
            slack_app_url: default_slack_app_url(),
            pagerduty_url: default_pagerduty_url(),
            telegram_api_url: default_telegram_api_url(),
            telegram_bot_token: Secret::default(),
            telegram_bot_token_file: None,
        }
    }
}

impl AlertingGlobal {
    pub(super) fn validate(&self) -> Result<(), Invalid> {
        if !self.smtp_auth_password.is_empty() && self.smtp_auth_password_file.is_some() {
            return Err(Invalid::near(
                "global: at most one of smtp_auth_password and smtp_auth_password_file must be configured"
                    .into(),
                "smtp_auth_password",
            ));
        }
        super::smtp_auth::check(
            &super::smtp_auth::GLOBAL_KEYS,
            self.smtp_auth_username.as_deref(),
            &self.smtp_auth_secret,
            self.smtp_auth_identity.as_deref(),
        )
        .map_err(|e| {
            let key = e.key().unwrap_or("smtp_auth_");
            Invalid::near(format!("global: {e}"), key)
        })?;
        let twice = [
            (
                "slack_api_url",
                !self.slack_api_url.is_empty(),
                "slack_api_url_file",
                self.slack_api_url_file.is_some(),
            ),
            (
                "slack_app_token",
                !self.slack_app_token.is_empty(),
                "slack_app_token_file",
                self.slack_app_token_file.is_some(),
            ),
            (
                "telegram_bot_token",
                !self.telegram_bot_token.is_empty(),
                "telegram_bot_token_file",
                self.telegram_bot_token_file.is_some(),
            ),
        ];
        for (a, has_a, b, has_b) in twice {
            if has_a && has_b {
                return Err(Invalid::near(
                    format!("global: at most one of {a} and {b} must be configured"),
                    a,
                ));
            }
        }
        let slack_url = !self.slack_api_url.is_empty() || self.slack_api_url_file.is_some();
        let slack_token = !self.slack_app_token.is_empty() || self.slack_app_token_file.is_some();
        if slack_url && slack_token {
            return Err(Invalid::near(
                "global: at most one of slack_app_token/slack_app_token_file and slack_api_url/slack_api_url_file must be configured".into(),
                "slack_app_token",
            ));
        }
        let urls = [
            ("slack_app_url", self.slack_app_url.as_str()),
            ("pagerduty_url", self.pagerduty_url.as_str()),
            ("telegram_api_url", self.telegram_api_url.as_str()),
        ];
        for (key, url) in urls {
            super::endpoint::check_url(key, url).map_err(|e| Invalid::near(format!("global: {e}"), key))?;
        }
        if !self.slack_api_url.is_empty() {
            super::endpoint::check_url("slack_api_url", self.slack_api_url.expose())
                .map_err(|e| Invalid::near(format!("global: {e}"), "slack_api_url"))?;
        }
        if let Some(h) = &self.smtp_smarthost {
            super::smarthost::validate_smarthost(h)?;
        }
        if self.resolve_timeout.is_zero() {
            return Err(Invalid::near(
                "global: resolve_timeout must be greater than zero".into(),
                "resolve_timeout",
            ));
        }
        Ok(())
    }
}

fn default_resolve_timeout() -> PromDuration {
    PromDuration::from_secs(300)
}

fn default_slack_app_url() -> String {
    "https://slack.com/api/chat.postMessage".to_string()
}

fn default_pagerduty_url() -> String {
    "https://events.pagerduty.com/v2/enqueue".to_string()
}

fn default_telegram_api_url() -> String {
    "https://api.telegram.org".to_string()
}

fn default_hello() -> String {
    "localhost".to_string()
}
