//! A rule of either kind, as a group holds and evaluates it, and what both
//! kinds answer alike (name, expression, health).

use super::alerting::AlertingRule;
use super::health::RuleHealth;
use super::recording::RecordingRule;

/// One rule of a group, recording or alerting.
#[derive(Debug, Clone)]
pub enum Rule {
    Recording(RecordingRule),
    Alerting(AlertingRule),
}

impl Rule {
    pub fn name(&self) -> &str {
        match self {
            Rule::Recording(r) => &r.name,
            Rule::Alerting(r) => &r.name,
        }
    }
    pub fn expr(&self) -> &str {
        match self {
            Rule::Recording(r) => &r.expr,
            Rule::Alerting(r) => &r.expr,
        }
    }
    pub fn health(&self) -> &RuleHealth {
        match self {
            Rule::Recording(r) => &r.health,
            Rule::Alerting(r) => &r.health,
        }
    }
    pub(super) fn health_mut(&mut self) -> &mut RuleHealth {
        match self {
            Rule::Recording(r) => &mut r.health,
            Rule::Alerting(r) => &mut r.health,
        }
    }
}
