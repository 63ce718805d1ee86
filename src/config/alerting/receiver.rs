//! `receivers:`: a name and its integrations (`email_configs`,
//! `webhook_configs`, and the chat and paging ones in their own files),
//! with the globals filled in; Alertmanager's other integrations are
//! refused by name.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::Invalid;
use super::error::AlertingConfigError;
use super::global::AlertingGlobal;
use super::http_config::{HttpClientConfig, default_true};
use super::smarthost::smarthost;
use super::unsupported::{SUPPORTED, Unsupported};
use super::{DiscordConfig, MsTeamsV2Config, PagerdutyConfig, SlackConfig, TelegramConfig};
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
    #[serde(default)]
    pub slack_configs: Vec<SlackConfig>,
    #[serde(default)]
    pub msteamsv2_configs: Vec<MsTeamsV2Config>,
    #[serde(default)]
    pub discord_configs: Vec<DiscordConfig>,
    #[serde(default)]
    pub telegram_configs: Vec<TelegramConfig>,
    #[serde(default)]
    pub pagerduty_configs: Vec<PagerdutyConfig>,
    /// Alertmanager's integrations Belfry refuses at load.
    #[serde(default, skip_serializing)]
    pub opsgenie_configs: Unsupported,
    #[serde(default, skip_serializing)]
    pub victorops_configs: Unsupported,
    #[serde(default, skip_serializing)]
    pub pushover_configs: Unsupported,
    #[serde(default, skip_serializing)]
    pub sns_configs: Unsupported,
    #[serde(default, skip_serializing)]
    pub wechat_configs: Unsupported,
    #[serde(default, skip_serializing)]
    pub webex_configs: Unsupported,
    #[serde(default, skip_serializing)]
    pub jira_configs: Unsupported,
    #[serde(default, skip_serializing)]
    pub rocketchat_configs: Unsupported,
    #[serde(default, skip_serializing)]
    pub mattermost_configs: Unsupported,
    #[serde(default, skip_serializing)]
    pub incidentio_configs: Unsupported,
    #[serde(default, skip_serializing)]
    pub msteams_configs: Unsupported,
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
        if let Some(kind) = self.unsupported() {
            return Err(Invalid::near(
                format!(
                    "receiver {name:?}: {}",
                    AlertingConfigError::UnsupportedIntegration {
                        kind,
                        supported: SUPPORTED
                    }
                ),
                kind,
            ));
        }
        for e in &mut self.email_configs {
            e.resolve(global)
                .map_err(|m| Invalid::near(format!("receiver {name:?}: email_configs: {m}"), &name))?;
        }
        for w in &mut self.webhook_configs {
            w.http_config.inherit(global.http_config.as_ref());
            w.validate()
                .map_err(|m| Invalid::near(format!("receiver {name:?}: webhook_configs: {m}"), &name))?;
        }
        let at = |kind: &str| {
            let name = name.clone();
            let kind = kind.to_string();
            move |m: AlertingConfigError| Invalid::near(format!("receiver {name:?}: {kind}: {m}"), &name)
        };
        for c in &mut self.slack_configs {
            c.resolve(global).map_err(at("slack_configs"))?;
        }
        for c in &mut self.msteamsv2_configs {
            c.resolve(global).map_err(at("msteamsv2_configs"))?;
        }
        for c in &mut self.discord_configs {
            c.resolve(global).map_err(at("discord_configs"))?;
        }
        for c in &mut self.telegram_configs {
            c.resolve(global).map_err(at("telegram_configs"))?;
        }
        for c in &mut self.pagerduty_configs {
            c.resolve(global).map_err(at("pagerduty_configs"))?;
        }
        Ok(())
    }

    /// The first of Alertmanager's integrations this receiver uses that
    /// Belfry does not implement.
    fn unsupported(&self) -> Option<&'static str> {
        [
            ("opsgenie_configs", self.opsgenie_configs),
            ("victorops_configs", self.victorops_configs),
            ("pushover_configs", self.pushover_configs),
            ("sns_configs", self.sns_configs),
            ("wechat_configs", self.wechat_configs),
            ("webex_configs", self.webex_configs),
            ("jira_configs", self.jira_configs),
            ("rocketchat_configs", self.rocketchat_configs),
            ("mattermost_configs", self.mattermost_configs),
            ("incidentio_configs", self.incidentio_configs),
            ("msteams_configs", self.msteams_configs),
        ]
        .into_iter()
        .find(|(_, u)| u.is_present())
        .map(|(kind, _)| kind)
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
        self.http_config.validate()?;
        Ok(())
    }
}
