//! `/alerts`: the pending and firing alerts of the rules, the active
//! alerts the dispatcher received from elsewhere (the Alertmanager API,
//! error alerts), the alert history, and every rule group with each rule's
//! state, health and last evaluation; `?state=` and `?q=` narrow the rules
//! shown. Each rule and alert links to its expression in Explore, and an
//! alert to the logs of its window.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use serde_json::Value;

use crate::alerting::AlertView;
use crate::model::AlertSource;
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
    /// Its `runbook_url` annotation when it is a web address ("" otherwise).
    pub runbook: String,
}

/// An active alert the dispatcher holds that no rule of Belfry raised.
pub struct ReceivedAlert {
    pub name: String,
    pub severity: String,
    pub summary: String,
    pub labels: Vec<(String, String)>,
    pub since_ms: i64,
    /// Where it came from, in words.
    pub source: &'static str,
    pub silenced: bool,
    pub silence: String,
    pub logs: String,
    /// The error issue an error alert is about ("" for other alerts).
    pub issue: String,
    /// Its `runbook_url` annotation when it is a web address ("" otherwise).
    pub runbook: String,
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
    /// The rule group, or the source of a received alert.
    pub group: String,
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
    received: Vec<ReceivedAlert>,
    groups: Vec<GroupBlock>,
    text_filter: String,
    state_choices: Vec<(&'static str, &'static str, bool)>,
    rule_count: usize,
    can_silence: bool,
    /// The history in the page's range; `None` where none is kept, the
    /// read's failure as text.
    history: Option<Result<Vec<HistoryRow>, String>>,
    history_query: String,
    /// Alert flood mode's controls, where it is configured.
    flood: Option<FloodControls>,
}

/// The Alerts page's flood mode section: its state and what turning it
/// on may choose.
struct FloodControls {
    active: bool,
    secondary_receiver: String,
    max_duration: String,
    /// (name, rule) of each configured override.
    overrides: Vec<(String, String)>,
    /// The overrides in force while on.
    chosen: Vec<String>,
}

fn flood_controls(state: &AppState) -> Option<FloodControls> {
    let flood = state.flood.as_ref()?;
    let cfg = flood.config()?;
    let current = flood.status();
    Some(FloodControls {
        active: current.is_some(),
        secondary_receiver: cfg.secondary_receiver,
        max_duration: cfg.max_duration.to_string(),
        overrides: cfg.overrides.into_iter().map(|o| (o.name, o.rule)).collect(),
        chosen: current.map(|c| c.overrides).unwrap_or_default(),
    })
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

/// How the page names an alert's source.
fn source_text(source: AlertSource) -> &'static str {
    match source {
        AlertSource::Rules => "rules",
        AlertSource::Api => "Alertmanager API",
        AlertSource::Errors => "error alerts",
        AlertSource::Logins => "login patterns",
    }
}

/// The page's row for an alert the dispatcher holds, unless a rule raised
/// it (the rules' own section lists those) or its source is not known (an
/// alert kept from before sources were, until its source sends it again).
fn received_alert(view: &AlertView) -> Option<ReceivedAlert> {
    let source = view.source.filter(|s| *s != AlertSource::Rules)?;
    let labels = &view.alert.labels;
    // Error alerts carry the event's `level` instead of a severity.
    let (severity_label, severity) = match labels.get("severity") {
        Some(s) => ("severity", s),
        None => ("level", labels.get("level").unwrap_or_default()),
    };
    let since_ms = times::system_ms(view.alert.starts_at);
    let label_map: BTreeMap<String, String> =
        labels.iter().map(|l| (l.name.clone(), l.value.clone())).collect();
    let issue = match (source, labels.get("issue")) {
        (AlertSource::Errors, Some(id)) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => {
            format!("/errors/issues/{id}")
        }
        _ => String::new(),
    };
    Some(ReceivedAlert {
        name: labels.get("alertname").unwrap_or("(no alertname)").to_string(),
        severity: severity.to_string(),
        summary: view
            .alert
            .annotations
            .get("summary")
            .or_else(|| view.alert.annotations.get("description"))
            .unwrap_or_default()
            .to_string(),
        labels: labels
            .iter()
            .filter(|l| l.name != "alertname" && l.name != severity_label)
            .map(|l| (l.name.clone(), l.value.clone()))
            .collect(),
        since_ms,
        source: source_text(source),
        silenced: !view.silenced_by.is_empty(),
        silence: super::silences::silence_link(labels.iter().map(|l| (l.name.as_str(), l.value.as_str()))),
        logs: logs_link(&window_from(Some(since_ms)), &label_map),
        issue,
        runbook: super::runbooks::runbook_link(|k| view.alert.annotations.get(k).map(str::to_string)),
    })
}

/// The received alerts, most severe first, then the longest firing.
fn received_alerts(views: &[AlertView]) -> Vec<ReceivedAlert> {
    let mut out: Vec<ReceivedAlert> = views.iter().filter_map(received_alert).collect();
    out.sort_by(|a, b| {
        (severity_rank(&a.severity), a.since_ms, &a.name).cmp(&(
            severity_rank(&b.severity),
            b.since_ms,
            &b.name,
        ))
    });
    out
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
            runbook: super::runbooks::runbook_link(|k| a.annotations.get(k).cloned()),
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
    let received = received_alerts(&state.alerting.alerts());
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
                        group: t.group,
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
        flood: flood_controls(&state),
        can_silence,
        history,
        history_query,
        frame,
        section: Section::Alerts,
        title: "Alerts",
        active,
        received,
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

    fn view(
        source: Option<AlertSource>,
        labels: &[(&str, &str)],
        annotations: &[(&str, &str)],
        start_s: u64,
    ) -> AlertView {
        use std::time::{Duration, SystemTime};
        AlertView {
            alert: crate::model::Alert {
                labels: crate::model::Labels::from_pairs(labels),
                annotations: crate::model::Labels::from_pairs(annotations),
                starts_at: SystemTime::UNIX_EPOCH + Duration::from_secs(start_s),
                ends_at: SystemTime::UNIX_EPOCH + Duration::from_secs(start_s + 300),
                generator_url: String::new(),
            },
            fingerprint: 1,
            updated_at: SystemTime::UNIX_EPOCH + Duration::from_secs(start_s),
            silenced_by: Vec::new(),
            inhibited_by: Vec::new(),
            receivers: Vec::new(),
            source,
        }
    }

    #[test]
    fn received_alerts_leave_out_the_rules_and_name_their_severity_or_level() {
        let views = [
            view(
                Some(AlertSource::Rules),
                &[("alertname", "HighErrors"), ("severity", "critical")],
                &[],
                1_700_000_000,
            ),
            view(None, &[("alertname", "KeptFromBefore")], &[], 1_700_000_000),
            view(
                Some(AlertSource::Errors),
                &[
                    ("alertname", "ErrorIssueNew"),
                    ("issue", "42"),
                    ("level", "error"),
                    ("project", "lms"),
                ],
                &[("summary", "KeyError: 'grade'")],
                1_700_000_600,
            ),
            view(
                Some(AlertSource::Api),
                &[
                    ("alertname", "BackupFailed"),
                    ("job", "backup"),
                    ("severity", "critical"),
                ],
                &[("description", "the nightly backup failed")],
                1_700_000_900,
            ),
        ];
        let rows = received_alerts(&views);
        let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
        // Critical before error, whatever their start.
        assert_eq!(names, vec!["BackupFailed", "ErrorIssueNew"]);
        let backup = &rows[0];
        assert_eq!(backup.severity, "critical");
        assert_eq!(backup.source, "Alertmanager API");
        assert_eq!(backup.summary, "the nightly backup failed");
        assert_eq!(backup.labels, vec![("job".to_string(), "backup".to_string())]);
        assert_eq!(backup.since_ms, 1_700_000_900_000);
        assert_eq!(backup.logs, "/logs?from=1700000000000&to=now&service=backup");
        assert!(
            backup
                .silence
                .starts_with("/silences?m=alertname%3D%22BackupFailed%22"),
            "{}",
            backup.silence
        );
        assert_eq!(backup.issue, "");
        let issue = &rows[1];
        assert_eq!(issue.severity, "error");
        assert_eq!(issue.source, "error alerts");
        assert_eq!(issue.issue, "/errors/issues/42");
        assert_eq!(
            issue.labels,
            vec![
                ("issue".to_string(), "42".to_string()),
                ("project".to_string(), "lms".to_string())
            ]
        );
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
