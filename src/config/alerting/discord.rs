//! `discord_configs`: a Discord channel webhook, the message as one embed.
//! Alertmanager's keys and defaults (`discord.default.title` /
//! `.message`); resolved alerts are sent.

use std::path::PathBuf;

use serde::Deserialize;

use super::endpoint::{check_url, template, url_or_file};
use super::error::AlertingConfigError;
use super::global::AlertingGlobal;
use super::http_config::HttpClientConfig;
use crate::config::Secret;
use crate::model::PromDuration;

#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscordConfig {
    pub send_resolved: bool,
    pub http_config: HttpClientConfig,
    /// The channel webhook's URL (a secret: it holds the token).
    pub webhook_url: Secret,
    pub webhook_url_file: Option<PathBuf>,
    /// The message's plain text, above the embed; empty by default.
    pub content: String,
    pub title: String,
    pub message: String,
    /// Overrides the webhook's user name and avatar.
    pub username: String,
    pub avatar_url: String,
    /// Per-request timeout; 10s when unset.
    pub timeout: Option<PromDuration>,
}

impl Default for DiscordConfig {
    fn default() -> Self {
        DiscordConfig {
            send_resolved: true,
            http_config: HttpClientConfig::default(),
            webhook_url: Secret::default(),
            webhook_url_file: None,
            content: String::new(),
            title: template("discord.default.title"),
            message: template("discord.default.message"),
            username: String::new(),
            avatar_url: String::new(),
            timeout: None,
        }
    }
}

impl DiscordConfig {
    pub(super) fn resolve(&mut self, g: &AlertingGlobal) -> Result<(), AlertingConfigError> {
        self.http_config.inherit(g.http_config.as_ref());
        url_or_file(
            ("webhook_url", &self.webhook_url),
            ("webhook_url_file", &self.webhook_url_file),
        )?;
        if !self.avatar_url.is_empty() {
            check_url("avatar_url", &self.avatar_url)?;
        }
        self.http_config.validate()
    }
}
