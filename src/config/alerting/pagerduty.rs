//! `pagerduty_configs`: PagerDuty's Events API v2 (`routing_key`, posted
//! to global `pagerduty_url`) or the older v1 (`service_key`, posted to
//! the generic events URL). Alertmanager's keys and defaults
//! (`pagerduty.default.*` templates, severity `error`, the default
//! `details`); resolved alerts are sent as `resolve` events.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::endpoint::{check_url, not_both, template};
use super::error::AlertingConfigError;
use super::global::AlertingGlobal;
use super::http_config::HttpClientConfig;
use crate::config::Secret;
use crate::model::PromDuration;

/// Where v1 events go unless the receiver names a `url`.
pub const PAGERDUTY_V1_URL: &str = "https://events.pagerduty.com/generic/2010-04-15/create_event.json";

#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PagerdutyConfig {
    pub send_resolved: bool,
    pub http_config: HttpClientConfig,
    /// An Events API v2 integration key.
    pub routing_key: Secret,
    pub routing_key_file: Option<PathBuf>,
    /// A v1 ("generic events API") service key.
    pub service_key: Secret,
    pub service_key_file: Option<PathBuf>,
    /// Global `pagerduty_url` (v2) when unset.
    pub url: Option<String>,
    pub client: String,
    pub client_url: String,
    /// The event's summary (v2) or description (v1).
    pub description: String,
    /// Custom details; Alertmanager's `firing`, `resolved`, `num_firing`
    /// and `num_resolved` are added unless set here.
    pub details: BTreeMap<String, String>,
    pub images: Vec<PagerdutyImage>,
    pub links: Vec<PagerdutyLink>,
    /// The affected system; `client` when unset.
    pub source: String,
    /// `critical`, `error`, `warning` or `info` (may be a template).
    pub severity: String,
    pub class: String,
    pub component: String,
    pub group: String,
    /// Per-request timeout; 10s when unset.
    pub timeout: Option<PromDuration>,
}

impl Default for PagerdutyConfig {
    fn default() -> Self {
        PagerdutyConfig {
            send_resolved: true,
            http_config: HttpClientConfig::default(),
            routing_key: Secret::default(),
            routing_key_file: None,
            service_key: Secret::default(),
            service_key_file: None,
            url: None,
            client: template("pagerduty.default.client"),
            client_url: template("pagerduty.default.clientURL"),
            description: template("pagerduty.default.description"),
            details: BTreeMap::new(),
            images: Vec::new(),
            links: Vec::new(),
            source: String::new(),
            severity: "error".into(),
            class: String::new(),
            component: String::new(),
            group: String::new(),
            timeout: None,
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PagerdutyImage {
    pub src: String,
    pub alt: String,
    pub href: String,
}

#[derive(Clone, Debug, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PagerdutyLink {
    pub href: String,
    pub text: String,
}

/// Alertmanager's default custom details.
const DEFAULT_DETAILS: [(&str, &str); 4] = [
    (
        "firing",
        r#"{{ template "pagerduty.default.instances" .Alerts.Firing }}"#,
    ),
    (
        "resolved",
        r#"{{ template "pagerduty.default.instances" .Alerts.Resolved }}"#,
    ),
    ("num_firing", "{{ .Alerts.Firing | len }}"),
    ("num_resolved", "{{ .Alerts.Resolved | len }}"),
];

impl PagerdutyConfig {
    /// True for the Events API v1: a service key wins over a routing key,
    /// as in Alertmanager.
    pub fn is_v1(&self) -> bool {
        !self.service_key.is_empty() || self.service_key_file.is_some()
    }

    pub(super) fn resolve(&mut self, g: &AlertingGlobal) -> Result<(), AlertingConfigError> {
        self.http_config.inherit(g.http_config.as_ref());
        let no_routing = self.routing_key.is_empty() && self.routing_key_file.is_none();
        let no_service = self.service_key.is_empty() && self.service_key_file.is_none();
        if no_routing && no_service {
            return Err(AlertingConfigError::Required(
                "missing service or routing key in PagerDuty config",
            ));
        }
        not_both(
            ("routing_key", &self.routing_key),
            ("routing_key_file", &self.routing_key_file),
        )?;
        not_both(
            ("service_key", &self.service_key),
            ("service_key_file", &self.service_key_file),
        )?;
        if self.source.is_empty() {
            self.source = self.client.clone();
        }
        for (k, v) in DEFAULT_DETAILS {
            self.details.entry(k.to_string()).or_insert_with(|| v.to_string());
        }
        let url = match &self.url {
            Some(u) => u.clone(),
            None if self.is_v1() => PAGERDUTY_V1_URL.to_string(),
            None => g.pagerduty_url.clone(),
        };
        check_url("url", &url)?;
        self.url = Some(url);
        self.http_config.validate()
    }
}
