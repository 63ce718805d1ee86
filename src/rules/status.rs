//! The state of the rules as `/api/v1/rules` and `/api/v1/alerts` show it,
//! in Prometheus's JSON shapes, with the API's filters.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{rfc3339, rfc3339_or_zero};

use super::alerting::{ActiveAlert, ms_to_time, value_string};
use super::group::Group;
use super::language::QueryLanguage;
use super::rule::Rule;

#[derive(Debug, Clone, Serialize)]
pub struct GroupStatus {
    pub name: String,
    pub file: String,
    pub rules: Vec<serde_json::Value>,
    /// Seconds.
    pub interval: f64,
    pub limit: usize,
    #[serde(rename = "evaluationTime")]
    pub evaluation_time: f64,
    #[serde(rename = "lastEvaluation")]
    pub last_evaluation: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlertStatus {
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub state: String,
    #[serde(rename = "activeAt")]
    pub active_at: String,
    pub value: String,
    #[serde(rename = "keepFiringSince", skip_serializing_if = "Option::is_none")]
    pub keep_firing_since: Option<String>,
}

/// Filters of `/api/v1/rules`.
#[derive(Debug, Clone, Default)]
pub struct RuleFilter {
    /// `alert` or `record`; `None` for both.
    pub kind: Option<String>,
    pub rule_names: Vec<String>,
    pub group_names: Vec<String>,
    pub files: Vec<String>,
    pub exclude_alerts: bool,
    /// Only groups written in this language: Prometheus's API shows the
    /// PromQL groups, Loki's ruler API the LogQL ones.
    pub language: Option<QueryLanguage>,
}

pub fn alert_status(a: &ActiveAlert) -> AlertStatus {
    AlertStatus {
        labels: a.labels.to_map(),
        annotations: a.annotations.to_map(),
        state: a.state.as_str().to_string(),
        active_at: rfc3339(ms_to_time(a.active_at)),
        value: value_string(a.value),
        keep_firing_since: a.keep_firing_since.map(|t| rfc3339(ms_to_time(t))),
    }
}

/// One group's status, or `None` when the filters leave nothing of it.
pub fn group_status(g: &Group, f: &RuleFilter) -> Option<GroupStatus> {
    if f.language.is_some_and(|l| l != g.language) {
        return None;
    }
    if !f.group_names.is_empty() && !f.group_names.contains(&g.name) {
        return None;
    }
    if !f.files.is_empty() && !f.files.contains(&g.file) {
        return None;
    }
    let mut rules = Vec::new();
    for r in &g.rules {
        if !f.rule_names.is_empty() && !f.rule_names.iter().any(|n| n == r.name()) {
            continue;
        }
        let h = r.health();
        let common = serde_json::json!({
            "name": r.name(),
            "query": r.expr(),
            "health": h.health.as_str(),
            "lastError": h.last_error.clone().unwrap_or_default(),
            "evaluationTime": h.evaluation_time.as_secs_f64(),
            "lastEvaluation": rfc3339_or_zero(h.last_evaluation),
        });
        let mut v = common;
        match r {
            Rule::Alerting(a) => {
                if f.kind.as_deref() == Some("record") {
                    continue;
                }
                let mut alerts: Vec<AlertStatus> = a.shown_alerts().map(alert_status).collect();
                alerts.sort_by(|x, y| x.labels.cmp(&y.labels));
                v["type"] = "alerting".into();
                v["state"] = a.state().as_str().into();
                v["duration"] = a.hold.as_secs_f64().into();
                v["keepFiringFor"] = a.keep_firing_for.as_secs_f64().into();
                v["labels"] = serde_json::json!(a.labels.iter().cloned().collect::<BTreeMap<_, _>>());
                v["annotations"] =
                    serde_json::json!(a.annotations.iter().cloned().collect::<BTreeMap<_, _>>());
                if !f.exclude_alerts {
                    v["alerts"] = serde_json::json!(alerts);
                }
            }
            Rule::Recording(rr) => {
                if f.kind.as_deref() == Some("alert") {
                    continue;
                }
                v["type"] = "recording".into();
                v["labels"] = serde_json::json!(rr.labels.to_map());
            }
        }
        rules.push(v);
    }
    let filtered = !f.rule_names.is_empty() || f.kind.is_some();
    if rules.is_empty() && filtered {
        return None;
    }
    Some(GroupStatus {
        name: g.name.clone(),
        file: g.file.clone(),
        rules,
        interval: g.interval.as_secs_f64(),
        limit: g.limit,
        evaluation_time: g.evaluation_time.as_secs_f64(),
        last_evaluation: rfc3339_or_zero(g.last_evaluation),
    })
}

/// Every pending or firing alert of every group (of `language`, if given).
pub fn alerts_of(groups: &[&Group], language: Option<QueryLanguage>) -> Vec<AlertStatus> {
    let mut out = Vec::new();
    for g in groups.iter().filter(|g| language.is_none_or(|l| l == g.language)) {
        for r in &g.rules {
            if let Rule::Alerting(a) = r {
                out.extend(a.shown_alerts().map(alert_status));
            }
        }
    }
    out
}
