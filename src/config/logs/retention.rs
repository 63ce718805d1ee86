//! `logs.retention`: how long each level is kept (the guide's §7.2
//! defaults), with overrides per service.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::model::PromDuration;

const DAY: u64 = 86_400;

fn days<const N: u64>() -> PromDuration {
    PromDuration::from_secs(N * DAY)
}

/// A service's exceptions; a level left out keeps the global duration.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct LevelRetentionOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug: Option<PromDuration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<PromDuration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<PromDuration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<PromDuration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical: Option<PromDuration>,
}

impl LevelRetentionOverride {
    pub fn in_level_order(&self) -> [Option<PromDuration>; 5] {
        [self.debug, self.info, self.warning, self.error, self.critical]
    }
}

/// One duration per level, and the services' exceptions.
#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogRetentionConfig {
    #[serde(default = "days::<7>")]
    pub debug: PromDuration,
    #[serde(default = "days::<30>")]
    pub info: PromDuration,
    #[serde(default = "days::<90>")]
    pub warning: PromDuration,
    #[serde(default = "days::<365>")]
    pub error: PromDuration,
    #[serde(default = "days::<365>")]
    pub critical: PromDuration,
    /// Per service name, as the record's `service` field says it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub services: BTreeMap<String, LevelRetentionOverride>,
}

impl Default for LogRetentionConfig {
    fn default() -> Self {
        LogRetentionConfig {
            debug: days::<7>(),
            info: days::<30>(),
            warning: days::<90>(),
            error: days::<365>(),
            critical: days::<365>(),
            services: BTreeMap::new(),
        }
    }
}

impl LogRetentionConfig {
    /// The durations from debug to critical.
    pub fn in_level_order(&self) -> [PromDuration; 5] {
        [self.debug, self.info, self.warning, self.error, self.critical]
    }
}

const NAMES: [&str; 5] = ["debug", "info", "warning", "error", "critical"];

impl LogRetentionConfig {
    pub fn validate(&self) -> Result<(), String> {
        for (name, d) in NAMES.iter().zip(self.in_level_order()) {
            if d.is_zero() {
                return Err(format!(
                    "{name}: must be positive (a level kept for 0s would never be searchable)"
                ));
            }
        }
        for (service, o) in &self.services {
            if service.is_empty() {
                return Err("services: an empty service name cannot match any record".into());
            }
            for (name, d) in NAMES.iter().zip(o.in_level_order()) {
                if d.is_some_and(|d| d.is_zero()) {
                    return Err(format!("services.{service}.{name}: must be positive"));
                }
            }
        }
        Ok(())
    }
}
