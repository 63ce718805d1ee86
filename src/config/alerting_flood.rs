//! `alerting_flood`: alert flood mode (the LMS guide's §10.1 "Alert Flood
//! Mitigation"). For a set time every alert without the critical severity
//! is silenced, critical alerts also go to a secondary receiver, and chosen
//! rules evaluate a raised-threshold expression instead of their own.
//! Which receiver and rules exist is checked here and where the rules load.

use serde::Deserialize;

use crate::model::{PromDuration, is_legacy_label_name};

/// How long flood mode may be on at most when the section does not say.
pub const DEFAULT_MAX_DURATION_SECS: u64 = 24 * 3600;

#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct AlertFloodConfig {
    /// A receiver of `alerting.receivers` that critical alerts also go to
    /// while flood mode is on.
    pub secondary_receiver: String,
    /// The longest flood mode may be turned on for (the end is refused past it).
    #[serde(default = "default_max_duration")]
    pub max_duration: PromDuration,
    /// The label that says an alert's severity.
    #[serde(default = "default_critical_label")]
    pub critical_label: String,
    /// The values of `critical_label` that are critical; every other alert
    /// (a missing label included) is silenced.
    #[serde(default = "default_critical_values")]
    pub critical_values: Vec<String>,
    /// Raised thresholds flood mode may be turned on with, by name.
    #[serde(default)]
    pub overrides: Vec<FloodOverride>,
}

/// While chosen, rule `rule` evaluates `expr` instead of its own expression.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct FloodOverride {
    pub name: String,
    /// An alerting rule: `ALERTNAME`, or `GROUP/ALERTNAME` when the name is
    /// used in more than one group.
    pub rule: String,
    /// The replacement expression, in the language of the rule's group.
    pub expr: String,
}

impl FloodOverride {
    /// `(group, alertname)`; the group is `None` when not given.
    pub fn target(&self) -> (Option<&str>, &str) {
        match self.rule.split_once('/') {
            Some((g, a)) => (Some(g), a),
            None => (None, &self.rule),
        }
    }
}

fn default_max_duration() -> PromDuration {
    PromDuration::from_secs(DEFAULT_MAX_DURATION_SECS)
}

fn default_critical_label() -> String {
    "severity".into()
}

fn default_critical_values() -> Vec<String> {
    vec!["critical".into()]
}

impl AlertFloodConfig {
    /// Checks what needs no other section; `receivers` are the names of
    /// `alerting.receivers`.
    pub(crate) fn validate(&self, receivers: &[&str]) -> Result<(), String> {
        if !receivers.contains(&self.secondary_receiver.as_str()) {
            return Err(format!(
                "secondary_receiver {:?} is not a receiver of alerting.receivers",
                self.secondary_receiver
            ));
        }
        if self.max_duration.is_zero() {
            return Err("max_duration must be greater than 0".into());
        }
        if !is_legacy_label_name(&self.critical_label) {
            return Err(format!(
                "critical_label {:?} is not a valid label name",
                self.critical_label
            ));
        }
        if self.critical_values.is_empty() {
            return Err("critical_values must name at least one value".into());
        }
        let mut seen = std::collections::HashSet::new();
        for o in &self.overrides {
            if o.name.is_empty() {
                return Err("overrides: every override needs a name".into());
            }
            if !seen.insert(o.name.as_str()) {
                return Err(format!("overrides: the name {:?} is used twice", o.name));
            }
            let (group, alert) = o.target();
            if alert.is_empty() || group.is_some_and(str::is_empty) {
                return Err(format!(
                    "overrides: {:?}: rule must be ALERTNAME or GROUP/ALERTNAME, not {:?}",
                    o.name, o.rule
                ));
            }
            if o.expr.trim().is_empty() {
                return Err(format!("overrides: {:?}: expr is empty", o.name));
            }
        }
        Ok(())
    }

    /// Whether `value` of the critical label is critical.
    pub fn is_critical_value(&self, value: Option<&str>) -> bool {
        value.is_some_and(|v| self.critical_values.iter().any(|c| c == v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> AlertFloodConfig {
        serde_norway::from_str(text).unwrap()
    }

    #[test]
    fn defaults_and_refusals() {
        let c = parse("secondary_receiver: oncall");
        assert_eq!(c.max_duration.as_duration().as_secs(), 24 * 3600);
        assert_eq!(c.critical_label, "severity");
        assert!(c.is_critical_value(Some("critical")));
        assert!(!c.is_critical_value(Some("warning")) && !c.is_critical_value(None));
        c.validate(&["oncall"]).unwrap();
        let e = c.validate(&["team"]).unwrap_err();
        assert!(e.contains("\"oncall\""), "{e}");

        let dup = parse(
            "secondary_receiver: oncall\noverrides:\n- {name: a, rule: X, expr: up}\n- {name: a, rule: Y, expr: up}",
        );
        assert!(dup.validate(&["oncall"]).unwrap_err().contains("used twice"));
        let bad_rule = parse("secondary_receiver: oncall\noverrides:\n- {name: a, rule: /X, expr: up}");
        assert!(
            bad_rule
                .validate(&["oncall"])
                .unwrap_err()
                .contains("GROUP/ALERTNAME")
        );
        let zero = parse("secondary_receiver: oncall\nmax_duration: 0s");
        assert!(zero.validate(&["oncall"]).unwrap_err().contains("max_duration"));
        let err =
            serde_norway::from_str::<AlertFloodConfig>("secondary_receiver: a\nthreshold: 3").unwrap_err();
        assert!(err.to_string().contains("threshold"), "{err}");
    }

    #[test]
    fn the_whole_file_refuses_an_unknown_receiver_or_key_where_it_is() {
        let text = "alerting:\n  route: {receiver: team}\n  receivers: [{name: team}]\nalerting_flood:\n  secondary_receiver: oncall\n";
        let e = crate::config::Config::from_yaml(text, "belfry.yml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("belfry.yml:4:") && e.contains("\"oncall\""), "{e}");
        let ok = text.replace("oncall", "team");
        let cfg = crate::config::Config::from_yaml(&ok, "belfry.yml").unwrap();
        assert_eq!(cfg.alerting_flood.unwrap().secondary_receiver, "team");
        let unknown = format!("{ok}  threshold: 3\n");
        let e = crate::config::Config::from_yaml(&unknown, "belfry.yml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("belfry.yml:6:") && e.contains("threshold"), "{e}");
        let no_alerting = "alerting_flood:\n  secondary_receiver: team\n";
        assert!(crate::config::Config::from_yaml(no_alerting, "belfry.yml").is_err());
    }
}
