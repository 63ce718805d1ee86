//! Service discovery settings: `static_configs` and `file_sd_configs`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::model::PromDuration;
use crate::model::is_legacy_label_name;

use super::validation_error::ValidationError;

/// A fixed group of targets sharing labels.
#[derive(Clone, Debug, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub targets: Vec<String>,
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub labels: BTreeMap<String, String>,
}

impl StaticConfig {
    pub(super) fn validate(&self) -> Result<(), ValidationError> {
        validate_group(&self.targets, &self.labels)
    }
}

/// Checks one target group: label names and addresses as Prometheus does.
pub fn validate_group(targets: &[String], labels: &BTreeMap<String, String>) -> Result<(), ValidationError> {
    if let Some(bad) = labels.keys().find(|n| !is_legacy_label_name(n)) {
        return Err(ValidationError::LabelName(bad.clone()));
    }
    if let Some(bad) = targets.iter().find(|t| t.is_empty() || t.contains('/')) {
        return Err(ValidationError::TargetAddress(bad.clone()));
    }
    Ok(())
}

#[derive(Clone, Debug, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct FileSdConfig {
    /// Globs of JSON or YAML target files.
    pub files: Vec<String>,
    #[serde(default = "default_refresh")]
    pub refresh_interval: PromDuration,
}

fn default_refresh() -> PromDuration {
    PromDuration::from_secs(300)
}

impl FileSdConfig {
    pub(super) fn validate(&self) -> Result<(), ValidationError> {
        if self.files.is_empty() {
            return Err(ValidationError::NoSdFiles);
        }
        for f in &self.files {
            if !is_valid_sd_path(f) {
                return Err(ValidationError::SdPath(f.clone()));
            }
        }
        if self.refresh_interval.is_zero() {
            return Err(ValidationError::ZeroRefresh);
        }
        Ok(())
    }
}

/// Prometheus's rule: `^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$`.
fn is_valid_sd_path(p: &str) -> bool {
    let Some((stem, ext)) = p.rsplit_once('.') else {
        return false;
    };
    if !matches!(ext, "json" | "yml" | "yaml" | "JSON" | "YML" | "YAML") {
        return false;
    }
    match stem.find('*') {
        None => true,
        Some(i) => !stem[i + 1..].contains(['*', '/']),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sd_path_rule() {
        assert!(is_valid_sd_path("targets/*.json"));
        assert!(is_valid_sd_path("/etc/belfry/nodes.yml"));
        assert!(is_valid_sd_path("a/b*c.yaml"));
        assert!(!is_valid_sd_path("*/x.json"));
        assert!(!is_valid_sd_path("a/*.txt"));
        assert!(!is_valid_sd_path("a/**.json"));
    }
}
