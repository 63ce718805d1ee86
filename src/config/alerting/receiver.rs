//! `receivers:`: a name and its integrations (`email_configs`,
//! `webhook_configs`), with the `smtp_*` globals filled in.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::Invalid;
use super::error::AlertingConfigError;
use super::global::AlertingGlobal;
use super::http_config::{HttpClientConfig, default_true};
use super::smarthost::smarthost;
use crate::config::Secret;
use crate::model::PromDuration;

#[derive(Clone, Debug, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverConfig {
    pub name: String,
    #[serde(default)]
    pub email_configs: Vec<EmailConfig>,
    #[serde(default)]
    pub webhook_configs: Vec<WebhookConfig>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    #[serde(default)]
    pub send_resolved: bool,
    /// Comma-separated recipients.
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub hello: Option<String>,
    #[serde(default)]
    pub smarthost: Option<String>,
    #[serde(default)]
    pub auth_username: Option<String>,
    #[serde(default)]
    pub auth_password: Secret,
    #[serde(default)]
    pub auth_password_file: Option<PathBuf>,
    #[serde(default)]
    pub auth_secret: Secret,
    #[serde(default)]
    pub auth_identity: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Body templates; the built-in ones when unset.
    #[serde(default)]
    pub html: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub require_tls: Option<bool>,
    #[serde(default)]
    pub tls_config: Option<EmailTlsConfig>,
}

/// TLS settings for SMTP.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct EmailTlsConfig {
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub server_name: Option<String>,
    #[serde(default)]
    pub insecure_skip_verify: bool,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    #[serde(default = "default_true")]
    pub send_resolved: bool,
    #[serde(default, serialize_with = "crate::config::redact")]
    pub url: Option<String>,
    #[serde(default)]
    pub url_file: Option<PathBuf>,
    #[serde(default)]
    pub http_config: HttpClientConfig,
    /// At most this many alerts per message (0 = all); the rest are counted
    /// in `truncatedAlerts`.
    #[serde(default)]
    pub max_alerts: u64,
    /// Per-request timeout; 10s when unset.
    #[serde(default)]
    pub timeout: Option<PromDuration>,
}

impl ReceiverConfig {
    pub(super) fn resolve(&mut self, global: &AlertingGlobal) -> Result<(), Invalid> {
        if self.name.is_empty() {
            return Err(Invalid::near("receiver with empty name".into(), "name:"));
        }
        let name = self.name.clone();
        for e in &mut self.email_configs {
            e.resolve(global)
                .map_err(|m| Invalid::near(format!("receiver {name:?}: email_configs: {m}"), &name))?;
        }
        for w in &mut self.webhook_configs {
            if w.http_config == HttpClientConfig::default()
                && let Some(h) = &global.http_config
            {
                w.http_config = h.clone();
            }
            w.validate()
                .map_err(|m| Invalid::near(format!("receiver {name:?}: webhook_configs: {m}"), &name))?;
        }
        Ok(())
    }
}

impl EmailConfig {
    fn resolve(&mut self, g: &AlertingGlobal) -> Result<(), AlertingConfigError> {
        if self.to.trim().is_empty() {
            return Err(AlertingConfigError::MissingTo);
        }
        let keys = &super::smtp_auth::EMAIL_KEYS;
        super::smtp_auth::check(
            keys,
            self.auth_username.as_deref(),
            &self.auth_secret,
            self.auth_identity.as_deref(),
        )?;
        fill(&mut self.from, &g.smtp_from);
        fill(&mut self.smarthost, &g.smtp_smarthost);
        if self.hello.is_none() {
            self.hello = Some(g.smtp_hello.clone());
        }
        if self.auth_username.is_none() {
            self.auth_username = g.smtp_auth_username.clone();
            if self.auth_password.is_empty() && self.auth_password_file.is_none() {
                self.auth_password = g.smtp_auth_password.clone();
                self.auth_password_file = g.smtp_auth_password_file.clone();
            }
            if self.auth_secret.is_empty() {
                self.auth_secret = g.smtp_auth_secret.clone();
            }
            fill(&mut self.auth_identity, &g.smtp_auth_identity);
        }
        if self.require_tls.is_none() {
            self.require_tls = Some(g.smtp_require_tls);
        }
        let Some(from) = &self.from else {
            return Err(AlertingConfigError::NoFrom);
        };
        let Some(host) = &self.smarthost else {
            return Err(AlertingConfigError::NoSmarthost);
        };
        smarthost(host)?;
        from.parse::<lettre::message::Mailbox>()
            .map_err(|source| AlertingConfigError::From {
                address: from.clone(),
                source,
            })?;
        for to in self.to.split(',') {
            to.trim()
                .parse::<lettre::message::Mailbox>()
                .map_err(|source| AlertingConfigError::To {
                    address: to.trim().to_string(),
                    source,
                })?;
        }
        if !self.auth_password.is_empty() && self.auth_password_file.is_some() {
            return Err(AlertingConfigError::PasswordTwice);
        }
        let mut seen = std::collections::HashSet::new();
        for name in self.headers.keys() {
            if !seen.insert(name.to_ascii_lowercase()) {
                return Err(AlertingConfigError::DuplicateHeader(name.clone()));
            }
        }
        Ok(())
    }
}

fn fill(dst: &mut Option<String>, global: &Option<String>) {
    if dst.as_deref().is_none_or(str::is_empty) {
        *dst = global.clone();
    }
}

impl WebhookConfig {
    fn validate(&self) -> Result<(), AlertingConfigError> {
        match (&self.url, &self.url_file) {
            (Some(_), Some(_)) => return Err(AlertingConfigError::UrlTwice),
            (None, None) => return Err(AlertingConfigError::NoUrl),
            (Some(u), None) => {
                let parsed = reqwest::Url::parse(u).map_err(|source| AlertingConfigError::Url {
                    url: u.clone(),
                    source,
                })?;
                if !matches!(parsed.scheme(), "http" | "https") {
                    return Err(AlertingConfigError::NotHttp(u.clone()));
                }
            }
            (None, Some(_)) => {}
        }
        let h = &self.http_config;
        h.proxy().validate()?;
        let mut auths = 0;
        auths += usize::from(h.authorization.is_some());
        auths += usize::from(h.basic_auth.is_some());
        auths += usize::from(!h.bearer_token.is_empty() || h.bearer_token_file.is_some());
        if auths > 1 {
            return Err(AlertingConfigError::HttpAuthMethods);
        }
        if let Some(a) = &h.authorization
            && a.kind.eq_ignore_ascii_case("basic")
        {
            return Err(AlertingConfigError::HttpBasicAuthorization);
        }
        if let Some(b) = &h.basic_auth
            && !b.password.is_empty()
            && b.password_file.is_some()
        {
            return Err(AlertingConfigError::HttpPasswordTwice);
        }
        Ok(())
    }
}
