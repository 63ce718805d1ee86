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
                g.rules.iter().any(|r| {
                    matches!(&r.kind, RuleKind::Alerting { alert, .. } if names(&o.rule, &g.name, alert))
                })
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
        parse_rules(yaml, "r.yml", ParseOptions::default()).unwrap().groups
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
        let missing = check_overrides(&s, &[o("Gone", "z > 10")]).unwrap_err().to_string();
        assert!(missing.contains("\"raise\"") && missing.contains("\"Gone\""), "{missing}");
        let twice = check_overrides(&s, &[o("High", "x > 10")]).unwrap_err().to_string();
        assert!(twice.contains("a, b"), "{twice}");
        let bad = check_overrides(&s, &[o("Low", "z >")]).unwrap_err().to_string();
        assert!(bad.contains("not a valid promql"), "{bad}");
        assert!(names("b/High", "b", "High") && !names("b/High", "a", "High") && names("High", "a", "High"));
    }
}
