//! `inhibit_rules:`: while a source alert fires, target alerts with equal
//! values in the `equal` labels are muted.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::Invalid;
use super::error::AlertingConfigError;
use crate::model::is_legacy_label_name;
use crate::model::parse_matchers;
use crate::model::{MatchOp, Matcher};

#[derive(Clone, Debug, Default, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct InhibitRuleConfig {
    #[serde(default)]
    pub source_matchers: Vec<String>,
    #[serde(default)]
    pub target_matchers: Vec<String>,
    #[serde(default)]
    pub source_match: BTreeMap<String, String>,
    #[serde(default)]
    pub source_match_re: BTreeMap<String, String>,
    #[serde(default)]
    pub target_match: BTreeMap<String, String>,
    #[serde(default)]
    pub target_match_re: BTreeMap<String, String>,
    #[serde(default)]
    pub equal: Vec<String>,
}

impl InhibitRuleConfig {
    /// The source side's matchers (new and legacy forms together).
    pub fn source(&self) -> Result<Vec<Matcher>, AlertingConfigError> {
        side(&self.source_matchers, &self.source_match, &self.source_match_re)
    }

    pub fn target(&self) -> Result<Vec<Matcher>, AlertingConfigError> {
        side(&self.target_matchers, &self.target_match, &self.target_match_re)
    }

    pub(super) fn validate(&self) -> Result<(), Invalid> {
        let first = self
            .source_matchers
            .first()
            .or(self.target_matchers.first())
            .cloned()
            .unwrap_or_else(|| "inhibit_rules".into());
        self.source()
            .map_err(|e| Invalid::near(format!("inhibit rule source: {e}"), &first))?;
        self.target()
            .map_err(|e| Invalid::near(format!("inhibit rule target: {e}"), &first))?;
        if let Some(bad) = self.equal.iter().find(|n| !is_legacy_label_name(n)) {
            return Err(Invalid::near(
                format!("inhibit rule equal: {bad:?} is not a valid label name"),
                bad,
            ));
        }
        Ok(())
    }
}

fn side(
    matchers: &[String],
    eq: &BTreeMap<String, String>,
    re: &BTreeMap<String, String>,
) -> Result<Vec<Matcher>, AlertingConfigError> {
    let mut out = Vec::new();
    for m in matchers {
        out.extend(parse_matchers(m)?);
    }
    for (n, v) in eq {
        out.push(Matcher::equal(n, v));
    }
    for (n, v) in re {
        out.push(Matcher::new(MatchOp::Regex, n, v)?);
    }
    Ok(out)
}
