//! `msteamsv2_configs`: Microsoft Teams through a Workflows (Power
//! Automate) webhook, which takes an adaptive card. Alertmanager's keys
//! and defaults (`msteamsv2.default.title` / `.text`); resolved alerts are
//! sent.

use std::path::PathBuf;

use serde::Deserialize;

use super::endpoint::{template, url_or_file};
use super::error::AlertingConfigError;
use super::global::AlertingGlobal;
use super::http_config::HttpClientConfig;
use crate::config::Secret;
use crate::model::PromDuration;

#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct MsTeamsV2Config {
    pub send_resolved: bool,
    pub http_config: HttpClientConfig,
    /// The workflow's URL (a secret: it holds a signature).
    pub webhook_url: Secret,
    pub webhook_url_file: Option<PathBuf>,
    pub title: String,
    pub text: String,
    /// Per-request timeout; 10s when unset.
    pub timeout: Option<PromDuration>,
}

impl Default for MsTeamsV2Config {
    fn default() -> Self {
        MsTeamsV2Config {
            send_resolved: true,
            http_config: HttpClientConfig::default(),
            webhook_url: Secret::default(),
            webhook_url_file: None,
            title: template("msteamsv2.default.title"),
            text: template("msteamsv2.default.text"),
            timeout: None,
        }
    }
}

impl MsTeamsV2Config {
    pub(super) fn resolve(&mut self, g: &AlertingGlobal) -> Result<(), AlertingConfigError> {
        self.http_config.inherit(g.http_config.as_ref());
        url_or_file(
            ("webhook_url", &self.webhook_url),
            ("webhook_url_file", &self.webhook_url_file),
        )?;
        self.http_config.validate()
    }
}
