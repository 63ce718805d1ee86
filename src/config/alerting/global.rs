//! `global:` of the alerting section: SMTP defaults every e-mail receiver
//! inherits, and `resolve_timeout`.

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
    /// Default HTTP client settings for webhooks.
    #[serde(default)]
    pub http_config: Option<HttpClientConfig>,
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

fn default_hello() -> String {
    "localhost".to_string()
}
