//! Flood mode's rule overrides: which alerting rule an override names,
//! checked against the loaded rule files (the rule exists, once, and the
//! replacement parses in its group's language), and which override an
//! evaluated rule takes.

use crate::config::FloodOverride;

use super::error::RuleError;
use super::file::{GroupSpec, RuleKind};

/// Whether override target `rule` (`ALERTNAME` or `GROUP/ALERTNAME`)
/// names the alerting rule `alert` of group `group`.
pub fn names(rule: &str, group: &str, alert: &str) -> bool {
    match rule.split_once('/') {
        Some((g, a)) => g == group && a == alert,
        None => rule == alert,
    }
}

/// Every override names exactly one alerting rule of `specs`, and its
/// expression parses in that rule's language.
pub fn check_overrides(specs: &[GroupSpec], overrides: &[FloodOverride]) -> Result<(), RuleError> {
    for o in overrides {
        let found: Vec<&GroupSpec> = specs
            .iter()
            .filter(|g| {
                g.rules.iter().any(
                    |r| matches!(&r.kind, RuleKind::Alerting { alert, .. } if names(&o.rule, &g.name, alert)),
                )
            })
            .collect();
        let refuse = |why: String| RuleError::FloodOverride {
            name: o.name.clone(),
            why,
        };
        let group = match found.as_slice() {
            [] => return Err(refuse(format!("no alerting rule {:?} in the rule files", o.rule))),
            [one] => *one,
            more => {
                let groups: Vec<&str> = more.iter().map(|g| g.name.as_str()).collect();
                return Err(refuse(format!(
                    "alert {:?} is in groups {}; write GROUP/ALERTNAME",
                    o.rule,
                    groups.join(", ")
                )));
            }
        };
        group.language.check_expr(&o.expr).map_err(|f| {
            refuse(format!(
                "expr is not a valid {} rule expression: {}",
                group.language.name(),
                f.message
            ))
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{ParseOptions, parse_rules};

    fn specs() -> Vec<GroupSpec> {
        let yaml = "groups:\n- name: a\n  rules:\n  - alert: High\n    expr: x > 1\n- name: b\n  rules:\n  - alert: High\n    expr: y > 1\n  - alert: Low\n    expr: z > 1\n";
        parse_rules(yaml, "r.yml", ParseOptions::default())
            .unwrap()
            .groups
    }

    fn o(rule: &str, expr: &str) -> FloodOverride {
        FloodOverride {
            name: "raise".into(),
            rule: rule.into(),
            expr: expr.into(),
        }
    }

    #[test]
    fn an_override_names_one_rule_and_parses() {
        let s = specs();
        check_overrides(&s, &[o("Low", "z > 10"), o("b/High", "y > 10")]).unwrap();
        let missing = check_overrides(&s, &[o("Gone", "z > 10")])
            .unwrap_err()
            .to_string();
        assert!(
            missing.contains("\"raise\"") && missing.contains("\"Gone\""),
            "{missing}"
        );
        let twice = check_overrides(&s, &[o("High", "x > 10")])
            .unwrap_err()
            .to_string();
        assert!(twice.contains("a, b"), "{twice}");
        let bad = check_overrides(&s, &[o("Low", "z >")]).unwrap_err().to_string();
        assert!(bad.contains("not a valid promql"), "{bad}");
        assert!(names("b/High", "b", "High") && !names("b/High", "a", "High") && names("High", "a", "High"));
    }

    /// The rule manager evaluates an override's expression while it is
    /// set, and its own again once it is cleared.
    #[test]
    fn a_set_override_is_evaluated_instead_and_cleared_restores() {
        use std::sync::Arc;

        use crate::model::{Labels, RuleOverrideSink};
        use crate::rules::{RuleFilter, RuleManager, RuleManagerOptions};
        use crate::selfmetrics::Registry;
        use crate::tsdb::{MemStorage, Storage};

        let tmp = tempfile::tempdir().unwrap();
        let rules = tmp.path().join("r.yml");
        std::fs::write(
            &rules,
            "groups:\n- name: lms\n  rules:\n  - alert: ErrorsHigh\n    expr: errors > 5\n",
        )
        .unwrap();
        let yaml = format!(
            "rule_files: ['{}']\nalerting:\n  route: {{receiver: a}}\n  receivers: [{{name: a}}]\nalerting_flood:\n  secondary_receiver: a\n  overrides:\n  - {{name: raise, rule: lms/ErrorsHigh, expr: errors > 50}}\n",
            rules.display()
        );
        let cfg = crate::config::Config::from_yaml(&yaml, "belfry.yml").unwrap();
        let storage = Arc::new(MemStorage::new());
        let manager = RuleManager::new(
            storage.clone(),
            None,
            &Registry::new(),
            RuleManagerOptions::default(),
        );
        manager.apply_config(&cfg).unwrap();
        let state_at = |t: i64| {
            let mut app = storage.appender();
            app.append(&Labels::from_pairs(&[("__name__", "errors")]), t, 20.0)
                .unwrap();
            app.commit().unwrap();
            manager.eval_all(t);
            let status = serde_json::to_value(manager.rules_status(&RuleFilter::default())).unwrap();
            status[0]["rules"][0]["state"].as_str().unwrap().to_string()
        };
        assert_eq!(state_at(1_000), "firing");
        manager.set_overrides(vec![("lms/ErrorsHigh".into(), "errors > 50".into())]);
        assert_eq!(state_at(2_000), "inactive");
        manager.set_overrides(Vec::new());
        assert_eq!(state_at(3_000), "firing");

        // An override naming a rule the files do not have refuses them.
        let bad = yaml.replace("lms/ErrorsHigh", "lms/Gone");
        let bad = crate::config::Config::from_yaml(&bad, "belfry.yml").unwrap();
        let e = manager.apply_config(&bad).unwrap_err().to_string();
        assert!(e.contains("\"lms/Gone\""), "{e}");
    }
}
