//! The `alerting:` section as a whole: its parts, Alertmanager's defaults
//! filled in, and the checks that span parts (a route naming a receiver or
//! a time interval that must exist).

use std::path::Path;

use serde::Deserialize;

use super::{
    AlertingGlobal, HttpClientConfig, InhibitRuleConfig, Invalid, ReceiverConfig, RouteConfig,
    TimeIntervalConfig, locate,
};
use crate::config::{ConfigError, FileError};

#[derive(Clone, Debug, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlertingConfig {
    #[serde(default)]
    pub global: AlertingGlobal,
    /// Required: the root of the routing tree.
    #[serde(default)]
    pub route: Option<RouteConfig>,
    #[serde(default)]
    pub receivers: Vec<ReceiverConfig>,
    #[serde(default)]
    pub inhibit_rules: Vec<InhibitRuleConfig>,
    #[serde(default)]
    pub time_intervals: Vec<TimeIntervalConfig>,
    /// The older name of `time_intervals`; both are accepted.
    #[serde(default)]
    pub mute_time_intervals: Vec<TimeIntervalConfig>,
    /// Globs of Go template files whose `{{ define }}`s notifications may
    /// call (relative to the config file), read at load and reload.
    #[serde(default)]
    pub templates: Vec<String>,
}

impl AlertingConfig {
    /// Fills Alertmanager's defaults into the route tree and receivers and
    /// checks every cross-reference (receivers, time intervals, matchers).
    /// `text` is the whole file, used to locate errors.
    pub fn resolve(&mut self, text: &str, origin: &str) -> Result<(), ConfigError> {
        self.validate().map_err(|e| {
            let position = e.near.as_deref().and_then(|n| locate::locate(text, n));
            FileError::located(origin, position, format!("alerting: {}", e.message)).into()
        })
    }

    fn validate(&mut self) -> Result<(), Invalid> {
        for t in &self.templates {
            glob::Pattern::new(t)
                .map_err(|e| Invalid::near(format!("templates: invalid pattern {t:?}: {e}"), t))?;
        }
        self.global.validate()?;
        let mut interval_names = std::collections::HashSet::new();
        for ti in self.time_intervals.iter().chain(&self.mute_time_intervals) {
            if !interval_names.insert(ti.name.clone()) {
                return Err(Invalid::near(
                    format!("time interval {:?} is defined more than once", ti.name),
                    &ti.name,
                ));
            }
            ti.validate()?;
        }
        let mut receiver_names = std::collections::HashSet::new();
        for r in &mut self.receivers {
            if !receiver_names.insert(r.name.clone()) {
                return Err(Invalid::near(
                    format!("receiver {:?} is defined more than once", r.name),
                    &r.name,
                ));
            }
            r.resolve(&self.global)?;
        }
        let Some(route) = &mut self.route else {
            return Err(Invalid::near(
                "no route provided in config (a root `route:` with a `receiver` is required)".into(),
                "alerting:",
            ));
        };
        route.validate_root(&receiver_names, &interval_names)?;
        for rule in &self.inhibit_rules {
            rule.validate()?;
        }
        Ok(())
    }

    /// Makes credential and URL files relative to the config file's directory.
    pub fn resolve_paths(&mut self, dir: &Path) {
        let join = |p: &mut Option<std::path::PathBuf>| {
            if let Some(path) = p
                && path.is_relative()
            {
                *path = dir.join(&*path);
            }
        };
        join(&mut self.global.smtp_auth_password_file);
        join(&mut self.global.slack_api_url_file);
        join(&mut self.global.slack_app_token_file);
        join(&mut self.global.telegram_bot_token_file);
        let join_http = |h: &mut HttpClientConfig| {
            join(&mut h.bearer_token_file);
            if let Some(b) = &mut h.basic_auth {
                join(&mut b.password_file);
            }
            if let Some(a) = &mut h.authorization {
                join(&mut a.credentials_file);
            }
            if let Some(t) = &mut h.tls_config {
                join(&mut t.ca_file);
                join(&mut t.cert_file);
                join(&mut t.key_file);
            }
        };
        if let Some(h) = &mut self.global.http_config {
            join_http(h);
        }
        for t in &mut self.templates {
            if Path::new(t.as_str()).is_relative() && !dir.as_os_str().is_empty() {
                *t = dir.join(&*t).display().to_string();
            }
        }
        for r in &mut self.receivers {
            for e in &mut r.email_configs {
                join(&mut e.auth_password_file);
                if let Some(t) = &mut e.tls_config {
                    join(&mut t.ca_file);
                }
            }
            for w in &mut r.webhook_configs {
                join(&mut w.url_file);
                join_http(&mut w.http_config);
            }
            for c in &mut r.slack_configs {
                join(&mut c.api_url_file);
                join(&mut c.app_token_file);
                join_http(&mut c.http_config);
            }
            for c in &mut r.msteamsv2_configs {
                join(&mut c.webhook_url_file);
                join_http(&mut c.http_config);
            }
            for c in &mut r.discord_configs {
                join(&mut c.webhook_url_file);
                join_http(&mut c.http_config);
            }
            for c in &mut r.telegram_configs {
                join(&mut c.bot_token_file);
                join(&mut c.chat_id_file);
                join_http(&mut c.http_config);
            }
            for c in &mut r.pagerduty_configs {
                join(&mut c.routing_key_file);
                join(&mut c.service_key_file);
                join_http(&mut c.http_config);
            }
        }
    }

    /// All named time intervals (`time_intervals` and the legacy
    /// `mute_time_intervals`).
    pub fn all_time_intervals(&self) -> impl Iterator<Item = &TimeIntervalConfig> {
        self.time_intervals.iter().chain(&self.mute_time_intervals)
    }
}
