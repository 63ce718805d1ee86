//! Inhibition: a firing alert matching a rule's source side mutes alerts
//! matching its target side when the `equal` labels have equal values.
//! As in Alertmanager, an alert that matches both sides cannot be muted by
//! another alert that also matches both, so a rule never mutes itself out.

use crate::config::alerting::{AlertingConfigError, InhibitRuleConfig};
use crate::model::matches_all;
use crate::model::{Labels, Matcher};

#[derive(Clone, Debug)]
pub struct InhibitRule {
    source: Vec<Matcher>,
    target: Vec<Matcher>,
    equal: Vec<String>,
}

impl InhibitRule {
    pub fn build(cfg: &InhibitRuleConfig) -> Result<InhibitRule, AlertingConfigError> {
        Ok(InhibitRule {
            source: cfg.source()?,
            target: cfg.target()?,
            equal: cfg.equal.clone(),
        })
    }

    pub fn is_target(&self, labels: &Labels) -> bool {
        matches_all(&self.target, labels)
    }

    pub fn is_source(&self, labels: &Labels) -> bool {
        matches_all(&self.source, labels)
    }

    /// Whether firing alert `source` mutes `target` under this rule.
    pub fn inhibits(&self, source: &Labels, target: &Labels) -> bool {
        if !self.is_source(source) || !self.is_target(target) {
            return false;
        }
        if self.is_target(source) && self.is_source(target) {
            return false;
        }
        self.equal.iter().all(|n| source.get(n) == target.get(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> InhibitRule {
        InhibitRule::build(&InhibitRuleConfig {
            source_matchers: vec![r#"severity="critical""#.into()],
            target_matchers: vec![r#"severity=~"warning|info""#.into()],
            equal: vec!["service".into()],
            ..Default::default()
        })
        .unwrap()
    }

    #[test]
    fn critical_mutes_warnings_of_the_same_service() {
        let r = rule();
        let crit = Labels::from_pairs(&[("severity", "critical"), ("service", "api")]);
        let warn = Labels::from_pairs(&[("severity", "warning"), ("service", "api")]);
        let other = Labels::from_pairs(&[("severity", "warning"), ("service", "db")]);
        assert!(r.inhibits(&crit, &warn));
        assert!(!r.inhibits(&crit, &other));
        assert!(!r.inhibits(&warn, &crit));
    }

    #[test]
    fn absent_equal_labels_count_as_equal() {
        let r = rule();
        let crit = Labels::from_pairs(&[("severity", "critical")]);
        let warn = Labels::from_pairs(&[("severity", "warning")]);
        assert!(r.inhibits(&crit, &warn));
    }
}
