//! `slack_configs`: Slack's incoming webhooks (`api_url`) or a bot token
//! (`app_token`, posting to `app_url`), with Alertmanager's keys and its
//! default texts (`slack.default.*` templates). Resolved alerts are not
//! sent unless `send_resolved: true`.

use std::path::PathBuf;

use serde::Deserialize;

use super::endpoint::{check_url, not_both, template, url_or_file};
use super::error::AlertingConfigError;
use super::global::AlertingGlobal;
use super::http_config::HttpClientConfig;
use crate::config::{Authorization, Secret};
use crate::model::PromDuration;

#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlackConfig {
    pub send_resolved: bool,
    pub http_config: HttpClientConfig,
    /// An incoming webhook's URL (a secret: it holds the token).
    pub api_url: Secret,
    pub api_url_file: Option<PathBuf>,
    /// A bot token, sent as `Authorization: Bearer` to `app_url`.
    pub app_token: Secret,
    pub app_token_file: Option<PathBuf>,
    pub app_url: Option<String>,
    pub channel: String,
    pub username: String,
    pub color: String,
    pub title: String,
    pub title_link: String,
    pub pretext: String,
    pub text: String,
    /// The message's own text, outside the attachment.
    pub message_text: String,
    pub fields: Vec<SlackField>,
    /// `short` for the fields that do not say.
    pub short_fields: bool,
    pub footer: String,
    pub fallback: String,
    pub callback_id: String,
    pub icon_emoji: String,
    pub icon_url: String,
    pub image_url: String,
    pub thumb_url: String,
    pub link_names: bool,
    /// Attachment fields Slack formats as mrkdwn; `fallback`, `pretext`
    /// and `text` when unset.
    pub mrkdwn_in: Vec<String>,
    pub actions: Vec<SlackAction>,
    /// Per-request timeout; 10s when unset.
    pub timeout: Option<PromDuration>,
}

impl Default for SlackConfig {
    fn default() -> Self {
        SlackConfig {
            send_resolved: false,
            http_config: HttpClientConfig::default(),
            api_url: Secret::default(),
            api_url_file: None,
            app_token: Secret::default(),
            app_token_file: None,
            app_url: None,
            channel: String::new(),
            username: template("slack.default.username"),
            color: template("slack.default.color"),
            title: template("slack.default.title"),
            title_link: template("slack.default.titlelink"),
            pretext: template("slack.default.pretext"),
            text: template("slack.default.text"),
            message_text: String::new(),
            fields: Vec::new(),
            short_fields: false,
            footer: template("slack.default.footer"),
            fallback: template("slack.default.fallback"),
            callback_id: template("slack.default.callbackid"),
            icon_emoji: template("slack.default.iconemoji"),
            icon_url: template("slack.default.iconurl"),
            image_url: String::new(),
            thumb_url: String::new(),
            link_names: false,
            mrkdwn_in: Vec::new(),
            actions: Vec::new(),
            timeout: None,
        }
    }
}

/// One of an attachment's fields; every text is a template.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlackField {
    pub title: String,
    pub value: String,
    pub short: Option<bool>,
}

/// A button of the attachment: a link (`url`) or an interactive action
/// (`name`, `value`, `confirm`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlackAction {
    #[serde(rename = "type")]
    pub kind: String,
    pub text: String,
    pub url: String,
    pub style: String,
    pub name: String,
    pub value: String,
    pub confirm: Option<SlackConfirm>,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct SlackConfirm {
    pub text: String,
    pub title: String,
    pub ok_text: String,
    pub dismiss_text: String,
}

impl SlackConfig {
    /// Fills the `slack_*` and `http_config` globals in, then checks.
    pub(super) fn resolve(&mut self, g: &AlertingGlobal) -> Result<(), AlertingConfigError> {
        not_both(("api_url", &self.api_url), ("api_url_file", &self.api_url_file))?;
        not_both(
            ("app_token", &self.app_token),
            ("app_token_file", &self.app_token_file),
        )?;
        let has_url = !self.api_url.is_empty() || self.api_url_file.is_some();
        let has_token = !self.app_token.is_empty() || self.app_token_file.is_some();
        if has_url && has_token {
            return Err(AlertingConfigError::Required(
                "at most one of api_url/api_url_file and app_token/app_token_file must be configured",
            ));
        }
        self.http_config.inherit(g.http_config.as_ref());
        // As Alertmanager: the global token only when nothing local says
        // where or how to post.
        if !has_url && !has_token && self.http_config.authorization.is_none() {
            self.app_token = g.slack_app_token.clone();
            self.app_token_file = g.slack_app_token_file.clone();
        }
        let has_token = !self.app_token.is_empty() || self.app_token_file.is_some();
        if !has_url && !has_token {
            self.api_url = g.slack_api_url.clone();
            self.api_url_file = g.slack_api_url_file.clone();
        }
        if self.app_url.is_none() {
            self.app_url = Some(g.slack_app_url.clone());
        }
        if has_token {
            if self.http_config.authorization.is_some() {
                return Err(AlertingConfigError::Required(
                    "http_config authorization cannot be set when using a Slack app token",
                ));
            }
            self.http_config.authorization = Some(Authorization {
                kind: "Bearer".into(),
                credentials: std::mem::take(&mut self.app_token),
                credentials_file: self.app_token_file.take(),
            });
            let url = self.app_url.clone().unwrap_or_default();
            check_url("app_url", &url)?;
            self.api_url = Secret::new(url);
            self.api_url_file = None;
        }
        if self.api_url.is_empty() && self.api_url_file.is_none() {
            return Err(AlertingConfigError::Required(
                "no Slack API URL nor app token set either inline or in a file (set api_url or global slack_api_url)",
            ));
        }
        url_or_file(("api_url", &self.api_url), ("api_url_file", &self.api_url_file))?;
        for f in &self.fields {
            if f.title.is_empty() {
                return Err(AlertingConfigError::Required(
                    "missing title in Slack field configuration",
                ));
            }
            if f.value.is_empty() {
                return Err(AlertingConfigError::Required(
                    "missing value in Slack field configuration",
                ));
            }
        }
        for a in &mut self.actions {
            a.check()?;
        }
        self.http_config.validate()
    }
}

impl SlackAction {
    fn check(&mut self) -> Result<(), AlertingConfigError> {
        if self.kind.is_empty() {
            return Err(AlertingConfigError::Required(
                "missing type in Slack action configuration",
            ));
        }
        if self.text.is_empty() {
            return Err(AlertingConfigError::Required(
                "missing text in Slack action configuration",
            ));
        }
        if let Some(c) = &self.confirm
            && c.text.is_empty()
        {
            return Err(AlertingConfigError::Required(
                "missing text in Slack confirmation configuration",
            ));
        }
        // A link button carries no interactive parts, as in Alertmanager.
        if !self.url.is_empty() {
            self.name.clear();
            self.value.clear();
            self.confirm = None;
            return Ok(());
        }
        if self.name.is_empty() {
            return Err(AlertingConfigError::Required(
                "missing name or url in Slack action configuration",
            ));
        }
        Ok(())
    }
}
