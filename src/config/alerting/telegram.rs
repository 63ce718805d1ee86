//! `telegram_configs`: a Telegram bot posting to a chat through the Bot
//! API's `sendMessage`. Alertmanager's keys and defaults
//! (`telegram.default.message`, `parse_mode: HTML`, the `telegram_*`
//! globals); resolved alerts are sent.

use std::path::PathBuf;

use serde::Deserialize;

use super::endpoint::{check_url, not_both, template};
use super::error::AlertingConfigError;
use super::global::AlertingGlobal;
use super::http_config::HttpClientConfig;
use crate::config::Secret;
use crate::model::PromDuration;

#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TelegramConfig {
    pub send_resolved: bool,
    pub http_config: HttpClientConfig,
    /// The Bot API's base; global `telegram_api_url` when unset.
    pub api_url: Option<String>,
    pub bot_token: Secret,
    pub bot_token_file: Option<PathBuf>,
    /// The chat (negative for groups and channels); 0 is unset.
    pub chat_id: i64,
    /// A file holding the chat id, read at every send.
    pub chat_id_file: Option<PathBuf>,
    /// The topic of a forum chat; 0 is none.
    pub message_thread_id: i64,
    pub message: String,
    pub disable_notifications: bool,
    /// `HTML`, `Markdown`, `MarkdownV2`, or empty for plain text.
    pub parse_mode: String,
    /// Per-request timeout; 10s when unset.
    pub timeout: Option<PromDuration>,
}

impl Default for TelegramConfig {
    fn default() -> Self {
        TelegramConfig {
            send_resolved: true,
            http_config: HttpClientConfig::default(),
            api_url: None,
            bot_token: Secret::default(),
            bot_token_file: None,
            chat_id: 0,
            chat_id_file: None,
            message_thread_id: 0,
            message: template("telegram.default.message"),
            disable_notifications: false,
            parse_mode: "HTML".into(),
            timeout: None,
        }
    }
}

impl TelegramConfig {
    pub(super) fn resolve(&mut self, g: &AlertingGlobal) -> Result<(), AlertingConfigError> {
        self.http_config.inherit(g.http_config.as_ref());
        not_both(
            ("bot_token", &self.bot_token),
            ("bot_token_file", &self.bot_token_file),
        )?;
        if self.bot_token.is_empty() && self.bot_token_file.is_none() {
            self.bot_token = g.telegram_bot_token.clone();
            self.bot_token_file = g.telegram_bot_token_file.clone();
        }
        if self.bot_token.is_empty() && self.bot_token_file.is_none() {
            return Err(AlertingConfigError::Required(
                "missing bot_token or bot_token_file (or global telegram_bot_token)",
            ));
        }
        match (self.chat_id != 0, self.chat_id_file.is_some()) {
            (false, false) => return Err(AlertingConfigError::Required("missing chat_id or chat_id_file")),
            (true, true) => return Err(AlertingConfigError::Twice("chat_id", "chat_id_file")),
            _ => {}
        }
        if !matches!(self.parse_mode.as_str(), "" | "HTML" | "Markdown" | "MarkdownV2") {
            return Err(AlertingConfigError::ParseMode(self.parse_mode.clone()));
        }
        let api = self.api_url.get_or_insert_with(|| g.telegram_api_url.clone());
        check_url("api_url", api)?;
        self.http_config.validate()
    }
}
