//! The `errors:` section as a whole.

use serde::{Deserialize, Serialize};

use crate::model::PromDuration;

use super::{
    ErrorAlertsConfig, ErrorLimitsConfig, ErrorMonitorsConfig, ErrorScrubConfig, FingerprintRule,
    ProjectConfig,
};

fn ninety_days() -> PromDuration {
    PromDuration::from_secs(90 * 86_400)
}

fn one_hour() -> PromDuration {
    PromDuration::from_secs(3_600)
}

#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ErrorsConfig {
    /// Projects and their DSN keys. `belfry errors project add` stores more
    /// in the data directory; on an id both know, the configuration wins.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub projects: Vec<ProjectConfig>,
    #[serde(default)]
    pub limits: ErrorLimitsConfig,
    /// How long events are kept (issues keep their counts).
    #[serde(default = "ninety_days")]
    pub retention: PromDuration,
    /// How often events past `retention` are looked for and deleted.
    #[serde(default = "one_hour")]
    pub retention_check_interval: PromDuration,
    #[serde(default)]
    pub scrub: ErrorScrubConfig,
    /// Server-side fingerprint rules, first match wins; applied when an
    /// event brings no `fingerprint` of its own.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fingerprint_rules: Vec<FingerprintRule>,
    /// New, regressed and spiking issues as alerts.
    #[serde(default)]
    pub alerts: ErrorAlertsConfig,
    /// Cron monitors from `check_in` items.
    #[serde(default)]
    pub monitors: ErrorMonitorsConfig,
}

impl Default for ErrorsConfig {
    fn default() -> Self {
        ErrorsConfig {
            projects: Vec::new(),
            limits: ErrorLimitsConfig::default(),
            retention: ninety_days(),
            retention_check_interval: one_hour(),
            scrub: ErrorScrubConfig::default(),
            fingerprint_rules: Vec::new(),
            alerts: ErrorAlertsConfig::default(),
            monitors: ErrorMonitorsConfig::default(),
        }
    }
}

impl ErrorsConfig {
    /// Checks what serde cannot; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        let mut ids = std::collections::HashSet::new();
        let mut keys = std::collections::HashMap::new();
        for (i, p) in self.projects.iter().enumerate() {
            p.validate()
                .map_err(|m| format!("projects[{i}] ({:?}): {m}", p.name))?;
            if !ids.insert(p.id) {
                return Err(format!("projects[{i}]: id {} is used by another project", p.id));
            }
            for key in &p.keys {
                if let Some(other) = keys.insert(key.as_str(), p.id) {
                    return Err(format!(
                        "projects[{i}]: key {key:?} is already a key of project {other}; each key belongs to one project"
                    ));
                }
            }
        }
        self.limits.validate().map_err(|m| format!("limits.{m}"))?;
        if self.retention.is_zero() {
            return Err("retention must be positive".into());
        }
        if self.retention_check_interval.is_zero() {
            return Err("retention_check_interval must be positive".into());
        }
        self.scrub.validate().map_err(|m| format!("scrub.{m}"))?;
        self.alerts.validate().map_err(|m| format!("alerts.{m}"))?;
        self.monitors.validate().map_err(|m| format!("monitors.{m}"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<ErrorsConfig, String> {
        let cfg: ErrorsConfig = serde_norway::from_str(yaml).map_err(|e| e.to_string())?;
        cfg.validate()?;
        Ok(cfg)
    }

    #[test]
    fn defaults_and_a_project() {
        let cfg = parse(
            "projects: [{id: 1, name: lms, keys: [0123456789abcdef0123456789abcdef]}]\n\
             fingerprint_rules: ['error.type:OperationalError -> database-errors']",
        )
        .unwrap();
        assert_eq!(cfg.retention.0.as_secs(), 90 * 86_400);
        assert_eq!(cfg.retention_check_interval.0.as_secs(), 3_600);
        assert!(cfg.scrub.enabled);
        assert_eq!(cfg.limits.max_event_bytes.0, 1 << 20);
        assert_eq!(cfg.fingerprint_rules[0].fingerprint, vec!["database-errors"]);
    }

    #[test]
    fn refusals_name_the_key() {
        let e = parse("projects: [{id: 1, name: a, keys: [k1]}, {id: 1, name: b, keys: [k2]}]").unwrap_err();
        assert!(e.contains("projects[1]: id 1"), "{e}");
        let e = parse("projects: [{id: 1, name: a, keys: [k1, k1]}]").unwrap_err();
        assert!(e.contains("keys[1]") && e.contains("twice"), "{e}");
        let e = parse("projects: [{id: 1, name: a, keys: ['not-a-key']}]").unwrap_err();
        assert!(e.contains("keys[0]"), "{e}");
        let e = parse("projects: [{id: 1, name: a, keys: [k1]}, {id: 2, name: b, keys: [k1]}]").unwrap_err();
        assert!(e.contains("already a key of project 1"), "{e}");
        let e = parse("limits: {max_event_bytes: 10}").unwrap_err();
        assert!(e.contains("limits.max_event_bytes"), "{e}");
        let e = parse("fingerprint_rules: ['nonsense']").unwrap_err();
        assert!(e.contains("'->'"), "{e}");
        let e = parse("alerts: {spike: {factor: 0.5}}").unwrap_err();
        assert!(e.contains("alerts.spike.factor"), "{e}");
        let e = parse("alerts: {spike: {min_events: 0}}").unwrap_err();
        assert!(e.contains("alerts.spike.min_events"), "{e}");
        let e = parse("monitors: {minute: 5m}").unwrap_err();
        assert!(e.contains("monitors.minute"), "{e}");
        let e = parse("monitors: {check_interval: 1ms}").unwrap_err();
        assert!(e.contains("monitors.check_interval"), "{e}");
        let cfg = parse("alerts: {new_issue: false, spike: {window: 1m}}").unwrap();
        assert!(!cfg.alerts.new_issue && cfg.alerts.regression);
        assert_eq!(cfg.alerts.spike.unwrap().min_events, 20);
        let e = parse("retention_check_interval: 0s").unwrap_err();
        assert!(e.contains("retention_check_interval"), "{e}");
        let e = parse("projects: [{id: 1, name: a, keys: [k], colour: red}]").unwrap_err();
        assert!(e.contains("colour"), "{e}");
    }
}
