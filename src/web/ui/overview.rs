//! The overview, `/`: what on-call staff need in the first five seconds —
//! firing alerts by severity, targets down, new and regressed errors, the
//! error-log rate — each with its start and a link to the evidence.
//! `GET /` is also Elasticsearch's handshake: a browser gets this page,
//! a log shipper the version document.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Request, State};
use axum::http::header;
use axum::response::Response;

use crate::auth::Permission;
use crate::errors::{IssueQuery, IssueSort, IssueStatus};
use crate::logs::Level;
use crate::logs::index::{Filter, SearchQuery};
use crate::scrape::{Health, TargetStatus};
use crate::web::access::Principal;
use crate::web::api::es_cluster;
use crate::web::state::AppState;

use super::frame::{Frame, Section};
use super::render::render;
use super::times;

/// An alert as the overview lists it.
pub struct FiringAlert {
    pub name: String,
    pub severity: String,
    pub summary: String,
    pub labels: String,
    pub since_ms: i64,
    pub silenced: bool,
    pub silence: String,
    /// Its `runbook_url` annotation when it is a web address ("" otherwise):
    /// the first thing on-call opens from the front door.
    pub runbook: String,
}

pub struct DownTarget {
    pub job: String,
    pub instance: String,
    pub error: String,
    pub last_scrape_ms: Option<i64>,
}

pub struct IssueLine {
    pub id: u64,
    pub title: String,
    pub culprit: String,
    pub level: String,
    pub count: u64,
    pub regressed: bool,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
}

/// The error-log figures of the range.
pub struct LogErrors {
    pub error_lines: u64,
    pub per_minute: String,
    /// Error and critical lines per bucket as bars of an SVG strip
    /// 100 units high: (x, y, height). Heights are attributes, not
    /// styles, which the page's CSP would refuse.
    pub bars: Vec<(usize, u64, u64)>,
    pub peak: u64,
    /// The strip's width in buckets.
    pub width: usize,
}

/// Bars of at least one unit where a bucket has any line, so a single
/// error in a quiet day still shows.
fn bars(buckets: &[u64]) -> Vec<(usize, u64, u64)> {
    let peak = buckets.iter().copied().max().unwrap_or(0);
    if peak == 0 {
        return Vec::new();
    }
    buckets
        .iter()
        .enumerate()
        .filter(|(_, n)| **n > 0)
        .map(|(i, n)| {
            let h = (n * 100 / peak).max(1);
            (i, 100 - h, h)
        })
        .collect()
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage {
    frame: Frame,
    section: Section,
    title: &'static str,
    alerts: Vec<FiringAlert>,
    alerts_by_severity: Vec<(String, usize)>,
    /// The most severe firing alert's severity, which colours the summary.
    worst: String,
    targets_total: usize,
    targets_down: Vec<DownTarget>,
    issues: Option<Vec<IssueLine>>,
    log_errors: Option<Result<LogErrors, String>>,
    can_silence: bool,
}

/// `GET /`: the overview for a person's browser, Elasticsearch's
/// handshake for anything else.
pub async fn front_door(State(state): State<Arc<AppState>>, frame: Frame, req: Request) -> Response {
    let principal = req.extensions().get::<Principal>().cloned();
    let browser = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if !browser || !principal.is_some_and(|p| p.allows(Permission::Read)) {
        return es_cluster::root();
    }
    overview(state, frame).await
}

async fn overview(state: Arc<AppState>, frame: Frame) -> Response {
    let alerts = firing_alerts(&state);
    let alerts_by_severity = count_by_severity(&alerts);
    let worst = alerts_by_severity
        .first()
        .map(|(s, _)| s.clone())
        .unwrap_or_default();
    let (targets_total, targets_down) = down_targets(&state);
    let issues = new_and_regressed(&state, frame.start_ms);
    let log_errors = log_errors(&state, frame.start_ms, frame.end_ms).await;
    let can_silence = frame.allows(Permission::Write);
    render(&OverviewPage {
        can_silence,
        frame,
        section: Section::Overview,
        title: "Overview",
        alerts,
        alerts_by_severity,
        worst,
        targets_total,
        targets_down,
        issues,
        log_errors,
    })
}

/// Severity order for sorting: the words of the LMS packs, then the rest.
pub fn severity_rank(severity: &str) -> u8 {
    match severity {
        "critical" | "page" | "sev1" | "fatal" => 0,
        "warning" | "sev2" | "error" => 1,
        "info" | "sev3" => 2,
        _ => 3,
    }
}

fn firing_alerts(state: &AppState) -> Vec<FiringAlert> {
    let mut out: Vec<FiringAlert> = state
        .alerting
        .alerts()
        .into_iter()
        .filter(|a| a.inhibited_by.is_empty())
        .map(|a| {
            let labels = &a.alert.labels;
            FiringAlert {
                silence: super::silences::silence_link(
                    labels.iter().map(|l| (l.name.as_str(), l.value.as_str())),
                ),
                name: labels.get("alertname").unwrap_or("(no alertname)").to_string(),
                // Error alerts carry the event's `level` instead.
                severity: labels
                    .get("severity")
                    .or_else(|| labels.get("level"))
                    .unwrap_or("none")
                    .to_string(),
                summary: a
                    .alert
                    .annotations
                    .get("summary")
                    .or_else(|| a.alert.annotations.get("description"))
                    .unwrap_or_default()
                    .to_string(),
                labels: labels
                    .iter()
                    .filter(|l| l.name != "alertname" && l.name != "severity")
                    .map(|l| format!("{}={}", l.name, l.value))
                    .collect::<Vec<_>>()
                    .join(" "),
                since_ms: super::times::system_ms(a.alert.starts_at),
                silenced: !a.silenced_by.is_empty(),
                runbook: super::runbooks::runbook_link(|k| a.alert.annotations.get(k).map(str::to_string)),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        (a.silenced, severity_rank(&a.severity), a.since_ms).cmp(&(
            b.silenced,
            severity_rank(&b.severity),
            b.since_ms,
        ))
    });
    out
}

fn count_by_severity(alerts: &[FiringAlert]) -> Vec<(String, usize)> {
    let mut counts: Vec<(String, usize)> = Vec::new();
    for a in alerts.iter().filter(|a| !a.silenced) {
        match counts.iter_mut().find(|(s, _)| *s == a.severity) {
            Some((_, n)) => *n += 1,
            None => counts.push((a.severity.clone(), 1)),
        }
    }
    counts.sort_by_key(|(s, _)| severity_rank(s));
    counts
}

fn down_targets(state: &AppState) -> (usize, Vec<DownTarget>) {
    let mut total = 0;
    let mut down = Vec::new();
    for t in state.scrape.targets() {
        let TargetStatus::Active(t) = t else { continue };
        total += 1;
        if t.health != Health::Down {
            continue;
        }
        down.push(DownTarget {
            job: t.labels.get("job").cloned().unwrap_or_default(),
            instance: t.labels.get("instance").cloned().unwrap_or_default(),
            error: t.last_error.clone(),
            last_scrape_ms: times::rfc3339_ms(&t.last_scrape),
        });
    }
    down.sort_by(|a, b| (&a.job, &a.instance).cmp(&(&b.job, &b.instance)));
    (total, down)
}

/// Unresolved issues first seen in the range, or regressed; `None` where
/// the server runs without error ingest.
fn new_and_regressed(state: &AppState, since_ms: i64) -> Option<Vec<IssueLine>> {
    let store = state.errors.as_ref()?.store().clone();
    let query = IssueQuery {
        status: Some(IssueStatus::Unresolved),
        sort: IssueSort::LastSeen,
        ..IssueQuery::default()
    };
    let since = since_ms as f64 / 1000.0;
    let lines = store
        .issues(&query)
        .into_iter()
        .filter(|i| i.regressed || i.first_seen >= since)
        .take(10)
        .map(|i| IssueLine {
            id: i.id,
            title: i.title.clone(),
            culprit: i.culprit.clone(),
            level: i.level.clone(),
            count: i.count,
            regressed: i.regressed,
            first_seen_ms: (i.first_seen * 1000.0) as i64,
            last_seen_ms: (i.last_seen * 1000.0) as i64,
        })
        .collect();
    Some(lines)
}

const LOG_BUCKETS: usize = 48;

/// Error and critical lines in the range; `None` without a logs store,
/// the search's refusal as text when it fails.
async fn log_errors(state: &AppState, start_ms: i64, end_ms: i64) -> Option<Result<LogErrors, String>> {
    let store = state.logs.clone()?;
    let reads = crate::web::api::logs_search::read_budget(state);
    let query = SearchQuery {
        text: String::new(),
        start_ns: start_ms.saturating_mul(1_000_000),
        end_ns: end_ms.saturating_mul(1_000_000).saturating_add(1),
        filters: vec![Filter::Level(vec![Level::Error, Level::Critical])],
        limit: 1,
        offset: 0,
        buckets: LOG_BUCKETS,
    };
    let found = tokio::task::spawn_blocking(move || store.search(&query, &reads)).await;
    Some(match found {
        Ok(Ok(result)) => {
            let minutes = ((end_ms - start_ms) as f64 / 60_000.0).max(1.0);
            let rate = result.total as f64 / minutes;
            let counts: Vec<u64> = result
                .histogram
                .iter()
                .map(|b| b.counts[3] + b.counts[4])
                .collect();
            Ok(LogErrors {
                error_lines: result.total,
                per_minute: if rate >= 10.0 {
                    format!("{rate:.0}")
                } else {
                    format!("{rate:.2}")
                },
                bars: bars(&counts),
                peak: counts.iter().copied().max().unwrap_or(0),
                width: counts.len().max(1),
            })
        }
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(format!("the search stopped: {e}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_peak_and_show_a_lone_line() {
        assert!(bars(&[0, 0]).is_empty());
        assert_eq!(bars(&[0, 1000, 1]), vec![(1, 0, 100), (2, 99, 1)]);
    }

    #[test]
    fn severities_sort_critical_first() {
        let mut s = vec!["info", "whatever", "critical", "warning"];
        s.sort_by_key(|s| severity_rank(s));
        assert_eq!(s, vec!["critical", "warning", "info", "whatever"]);
    }
}
