//! `/alerts`: the pending and firing alerts of the rules, and every rule
//! group with each rule's state, health and last evaluation; `?state=` and
//! `?q=` narrow the rules shown. Each rule and alert links to its
//! expression in Explore, and an alert to the logs of its window.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde_json::Value;

use crate::rules::{QueryLanguage, RuleFilter};
use crate::web::params::Params;
use crate::web::state::AppState;

use super::explore::{self, Lang};
use super::frame::{Frame, Section};
use super::overview::severity_rank;
use super::render::render;
use super::times;

pub struct ActiveAlert {
    pub name: String,
    pub state: String,
    pub severity: String,
    pub summary: String,
    pub labels: Vec<(String, String)>,
    pub since_ms: Option<i64>,
    pub value: String,
    /// The silences page with this alert's labels as matchers.
    pub silence: String,
    /// Its rule's expression in Explore over the alert's window ("" when
    /// the rule is not found, e.g. it was removed by a reload just now).
    pub explore: String,
    /// The logs of the alert's window, of its service when it names one.
    pub logs: String,
}

pub struct RuleRow {
    pub name: String,
    pub kind: &'static str,
    pub state: String,
    pub health: String,
    pub query: String,
    pub error: String,
    pub last_eval_ms: Option<i64>,
    pub eval_ms: String,
    pub severity: String,
    pub active: usize,
    /// The expression in Explore, over its alerts' window if it has any.
    pub explore: String,
}

pub struct GroupBlock {
    pub name: String,
    pub file: String,
    pub interval: String,
    pub rules: Vec<RuleRow>,
}

/// One state change in the history section.
pub struct HistoryRow {
    pub at_ms: i64,
    pub name: String,
    pub from: String,
    pub to: String,
    pub labels: Vec<(String, String)>,
    pub value: String,
    pub summary: String,
}

/// How many state changes the page lists; the API pages further.
const HISTORY_ROWS: usize = 200;

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage {
    frame: Frame,
    section: Section,
    title: &'static str,
    active: Vec<ActiveAlert>,
    groups: Vec<GroupBlock>,
    text_filter: String,
    state_choices: Vec<(&'static str, &'static str, bool)>,
    rule_count: usize,
    can_silence: bool,
    /// The history in the page's range; `None` where none is kept, the
    /// read's failure as text.
    history: Option<Result<Vec<HistoryRow>, String>>,
    history_query: String,
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn seconds_text(secs: f64) -> String {
    if secs >= 60.0 && secs % 60.0 == 0.0 {
        format!("{}m", secs as u64 / 60)
    } else {
        format!("{secs}s")
    }
}

/// The alerts of a rule's status: each one's labels and when it became active.
fn rule_alerts(v: &Value) -> Vec<(BTreeMap<String, String>, Option<i64>)> {
    v.get("alerts")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .map(|a| {
                    let labels = a
                        .get("labels")
                        .cloned()
                        .and_then(|l| serde_json::from_value(l).ok())
                        .unwrap_or_default();
                    (labels, times::rfc3339_ms(&text(a, "activeAt")))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Where a window around alerts starts: before the first became active,
/// or the last hour when none is.
fn window_from(since_ms: Option<i64>) -> String {
    since_ms.map_or_else(
        || "now-1h".to_string(),
        |ms| explore::window_start_ms(ms).to_string(),
    )
}

/// The logs page over `from`..now, of the alert's service (its `service`
/// label, else its `job`).
fn logs_link(from: &str, labels: &BTreeMap<String, String>) -> String {
    let mut link = format!("/logs?from={}&to=now", crate::web::access::percent_encode(from));
    if let Some(service) = labels.get("service").or_else(|| labels.get("job")) {
        link.push_str("&service=");
        link.push_str(&crate::web::access::percent_encode(service));
    }
    link
}

fn rule_row(v: &Value, lang: Lang) -> RuleRow {
    let alerting = text(v, "type") == "alerting";
    let first_active = rule_alerts(v).into_iter().filter_map(|(_, since)| since).min();
    RuleRow {
        explore: explore::link(
            lang,
            &[text(v, "query").as_str()],
            &window_from(first_active),
            "now",
        ),
        name: text(v, "name"),
        kind: if alerting { "alert" } else { "record" },
        state: if alerting { text(v, "state") } else { String::new() },
        health: text(v, "health"),
        query: text(v, "query"),
        error: text(v, "lastError"),
        last_eval_ms: times::rfc3339_ms(&text(v, "lastEvaluation")),
        eval_ms: format!(
            "{:.1} ms",
            v.get("evaluationTime")
                .and_then(Value::as_f64)
                .unwrap_or_default()
                * 1000.0
        ),
        severity: v
            .get("labels")
            .and_then(|l| l.get("severity"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        active: v.get("alerts").and_then(Value::as_array).map_or(0, Vec::len),
    }
}

/// `GET /alerts`.
pub async fn page(State(state): State<Arc<AppState>>, frame: Frame, params: Params) -> Response {
    let state_filter = params.get("state").unwrap_or_default().to_string();
    let text_filter = params.get("q").unwrap_or_default().trim().to_string();
    let needle = text_filter.to_lowercase();
    let keep = |r: &RuleRow| {
        (state_filter.is_empty() || r.state == state_filter)
            && (needle.is_empty()
                || r.name.to_lowercase().contains(&needle)
                || r.query.to_lowercase().contains(&needle))
    };
    let mut rule_count = 0;
    // GroupStatus does not say its language; asking for the LogQL groups does.
    let logql_groups: HashSet<(String, String)> = state
        .rules
        .rules_status(&RuleFilter {
            language: Some(QueryLanguage::LogQL),
            ..RuleFilter::default()
        })
        .into_iter()
        .map(|g| (g.file, g.name))
        .collect();
    // Each active alert's rule expression, found by the alert's labels.
    let mut expr_of_alert: HashMap<BTreeMap<String, String>, (String, Lang)> = HashMap::new();
    let groups: Vec<GroupBlock> = state
        .rules
        .rules_status(&RuleFilter::default())
        .into_iter()
        .filter_map(|g| {
            rule_count += g.rules.len();
            let lang = if logql_groups.contains(&(g.file.clone(), g.name.clone())) {
                Lang::LogQL
            } else {
                Lang::PromQL
            };
            for v in &g.rules {
                for (labels, _) in rule_alerts(v) {
                    expr_of_alert.insert(labels, (text(v, "query"), lang));
                }
            }
            let rules: Vec<RuleRow> = g
                .rules
                .iter()
                .map(|v| rule_row(v, lang))
                .filter(|r| keep(r))
                .collect();
            (!rules.is_empty()).then(|| GroupBlock {
                name: g.name,
                file: g.file,
                interval: seconds_text(g.interval),
                rules,
            })
        })
        .collect();
    let mut active: Vec<ActiveAlert> = state
        .rules
        .alerts_status(None)
        .into_iter()
        .map(|a| ActiveAlert {
            silence: super::silences::silence_link(a.labels.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            explore: expr_of_alert
                .get(&a.labels)
                .map(|(expr, lang)| {
                    explore::link(
                        *lang,
                        &[expr.as_str()],
                        &window_from(times::rfc3339_ms(&a.active_at)),
                        "now",
                    )
                })
                .unwrap_or_default(),
            logs: logs_link(&window_from(times::rfc3339_ms(&a.active_at)), &a.labels),
            name: a.labels.get("alertname").cloned().unwrap_or_default(),
            severity: a.labels.get("severity").cloned().unwrap_or_default(),
            summary: a
                .annotations
                .get("summary")
                .or_else(|| a.annotations.get("description"))
                .cloned()
                .unwrap_or_default(),
            labels: a
                .labels
                .iter()
                .filter(|(k, _)| !matches!(k.as_str(), "alertname" | "severity"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            since_ms: times::rfc3339_ms(&a.active_at),
            state: a.state,
            value: a.value,
        })
        .collect();
    active.sort_by(|a, b| {
        (a.state != "firing", severity_rank(&a.severity), a.since_ms).cmp(&(
            b.state != "firing",
            severity_rank(&b.severity),
            b.since_ms,
        ))
    });
    let state_choices = [
        ("", "Any state"),
        ("firing", "Firing"),
        ("pending", "Pending"),
        ("inactive", "Inactive"),
    ]
    .into_iter()
    .map(|(v, l)| (v, l, v == state_filter))
    .collect();
    let can_silence = frame.allows(crate::auth::Permission::Write);
    let history_query = params.get("hq").unwrap_or_default().trim().to_string();
    let history = match state.rules.history().cloned() {
        None => None,
        Some(h) => {
            let (q, start, end) = (history_query.clone(), frame.start_ms, frame.end_ms);
            let rows = tokio::task::spawn_blocking(move || h.search(&q, start, end, HISTORY_ROWS)).await;
            Some(match rows {
                Ok(Ok(list)) => Ok(list
                    .into_iter()
                    .map(|t| HistoryRow {
                        at_ms: t.at_ms,
                        name: t.alertname,
                        value: if t.value.is_nan() {
                            String::new()
                        } else {
                            crate::promql::format_sample_value(t.value)
                        },
                        from: t.from,
                        to: t.to,
                        labels: t.labels.into_iter().collect(),
                        summary: t.summary,
                    })
                    .collect()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(e) => Err(format!("the history read stopped: {e}")),
            })
        }
    };
    render(&AlertsPage {
        can_silence,
        history,
        history_query,
        frame,
        section: Section::Alerts,
        title: "Alerts",
        active,
        groups,
        text_filter,
        state_choices,
        rule_count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alerts_logs_link_names_its_service_or_job() {
        let labels = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert_eq!(
            logs_link(
                "1700000000000",
                &labels(&[("job", "api"), ("service", "lms web")])
            ),
            "/logs?from=1700000000000&to=now&service=lms%20web"
        );
        assert_eq!(
            logs_link("now-1h", &labels(&[("job", "api")])),
            "/logs?from=now-1h&to=now&service=api"
        );
        assert_eq!(logs_link("now-1h", &labels(&[])), "/logs?from=now-1h&to=now");
    }

    #[test]
    fn a_rules_explore_link_opens_before_its_first_active_alert() {
        let v = serde_json::json!({
            "type": "alerting",
            "name": "HighErrors",
            "query": "rate(errors_total[5m]) > 1",
            "alerts": [
                {"labels": {"alertname": "HighErrors", "job": "b"}, "activeAt": "2023-11-14T22:30:00Z"},
                {"labels": {"alertname": "HighErrors", "job": "a"}, "activeAt": "2023-11-14T22:15:00Z"},
            ],
        });
        let row = rule_row(&v, Lang::PromQL);
        // 22:15 less a quarter of an hour is 22:00, 1_699_999_200 s.
        assert_eq!(
            row.explore,
            "/explore?lang=promql&q=rate%28errors_total%5B5m%5D%29%20%3E%201&from=1699999200000&to=now"
        );
        assert_eq!(row.active, 2);
        let quiet = serde_json::json!({"type": "recording", "name": "r", "query": "{service=\"api\"}"});
        assert_eq!(
            rule_row(&quiet, Lang::LogQL).explore,
            "/explore?lang=logql&q=%7Bservice%3D%22api%22%7D&from=now-1h&to=now"
        );
        let alerts = rule_alerts(&v);
        assert_eq!(alerts[1].0.get("job").map(String::as_str), Some("a"));
    }
}
