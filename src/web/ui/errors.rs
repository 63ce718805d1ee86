//! `/errors`: the error issues with Sentry's filters and sort (the same
//! parameters as `/api/belfry/errors/issues`, so a URL works for both),
//! each release's health and the cron monitors.

use std::sync::Arc;

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use crate::errors::{IssueStatus, LEVELS};
use crate::web::api::errors_issues;
use crate::web::params::Params;
use crate::web::state::AppState;

use super::frame::{Frame, Section};
use super::render::render;

const ROWS: usize = 100;

pub struct IssueRow {
    pub id: u64,
    pub title: String,
    pub culprit: String,
    pub level: String,
    pub status: String,
    pub regressed: bool,
    pub count: u64,
    pub users: u64,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    pub release: String,
}

pub struct ReleaseRow {
    pub version: String,
    pub environment: String,
    pub sessions: u64,
    pub crash_free_sessions: String,
    pub crash_free_users: String,
    pub adoption: String,
    pub last_seen_ms: i64,
}

pub struct MonitorRow {
    pub slug: String,
    pub project: String,
    pub status: String,
    pub schedule: String,
    pub last_status: String,
    pub last_checkin_ms: Option<i64>,
    pub next_expected_ms: Option<i64>,
    pub incident: String,
}

/// One `<option>`: value, label, selected.
pub type Choice = (&'static str, &'static str, bool);

#[derive(Template)]
#[template(path = "errors.html")]
struct ErrorsPage {
    frame: Frame,
    section: Section,
    title: &'static str,
    running: bool,
    issues: Result<Vec<IssueRow>, String>,
    total: usize,
    statuses: Vec<Choice>,
    levels: Vec<(String, bool)>,
    sorts: Vec<Choice>,
    text: String,
    environment: String,
    release: String,
    releases: Vec<ReleaseRow>,
    monitors: Vec<MonitorRow>,
}

fn ms(secs: f64) -> i64 {
    (secs * 1000.0) as i64
}

fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_string(), |r| format!("{:.2} %", r * 100.0))
}

/// `GET /errors`.
pub async fn page(State(state): State<Arc<AppState>>, frame: Frame, params: Params) -> Response {
    let status = params.get("status").unwrap_or("unresolved").to_string();
    let level = params.get("level").unwrap_or_default().to_string();
    let sort = params.get("sort").unwrap_or("last_seen").to_string();
    let mut issues = Err("error ingest is not running on this server".to_string());
    let mut total = 0;
    let mut releases = Vec::new();
    let mut monitors = Vec::new();
    let running = state.errors.is_some();
    if let Some(errors) = &state.errors {
        issues = errors_issues::query(&params)
            .map_err(|e| e.to_string())
            .map(|mut q| {
                // The page's default is what needs attention; `status=` (empty) shows every status.
                if params.get("status").is_none() {
                    q.status = Some(IssueStatus::Unresolved);
                }
                let found = errors.store().issues(&q);
                total = found.len();
                found
                    .into_iter()
                    .take(ROWS)
                    .map(|i| IssueRow {
                        id: i.id,
                        release: i.last_release.clone().unwrap_or_default(),
                        title: i.title,
                        culprit: i.culprit,
                        level: i.level,
                        status: i.status.as_str().to_string(),
                        regressed: i.regressed,
                        count: i.count,
                        users: i.user_count,
                        first_seen_ms: ms(i.first_seen),
                        last_seen_ms: ms(i.last_seen),
                    })
                    .collect()
            });
        let now = crate::model::now_millis() as f64 / 1000.0;
        if let Some(health) = errors.health() {
            for project in errors.project_ids() {
                for r in health.releases.releases(project, None, now) {
                    releases.push(ReleaseRow {
                        sessions: r.counts.sessions,
                        crash_free_sessions: percent(r.counts.crash_free_sessions()),
                        crash_free_users: percent(r.counts.crash_free_users()),
                        adoption: percent(r.adoption),
                        last_seen_ms: ms(r.last_seen),
                        version: r.version,
                        environment: r.environment,
                    });
                }
            }
        }
        releases.sort_by_key(|r| std::cmp::Reverse(r.last_seen_ms));
        releases.truncate(20);
        if let Some(store) = errors.monitors() {
            monitors = store
                .monitors(None)
                .into_iter()
                .map(|m| MonitorRow {
                    schedule: m.config.schedule_text(),
                    status: m.status.as_str().to_string(),
                    last_status: m.last_status.map(|s| s.as_str().to_string()).unwrap_or_default(),
                    last_checkin_ms: m.last_checkin.map(ms),
                    next_expected_ms: m.next_expected.map(ms),
                    incident: m
                        .incident
                        .as_ref()
                        .map(|i| i.status_name().to_string())
                        .unwrap_or_default(),
                    project: m.project_name,
                    slug: m.slug,
                })
                .collect();
        }
    }
    let statuses = [
        ("unresolved", "Unresolved"),
        ("resolved", "Resolved"),
        ("resolved_in_next_release", "Resolved in next release"),
        ("ignored", "Ignored"),
        ("", "Any status"),
    ]
    .into_iter()
    .map(|(v, l)| (v, l, v == status))
    .collect();
    let sorts = [
        ("last_seen", "Last seen"),
        ("first_seen", "First seen"),
        ("count", "Events"),
        ("users", "Users"),
    ]
    .into_iter()
    .map(|(v, l)| (v, l, v == sort))
    .collect();
    render(&ErrorsPage {
        frame,
        section: Section::Errors,
        title: "Errors",
        running,
        issues,
        total,
        statuses,
        levels: LEVELS.iter().map(|l| (l.to_string(), *l == level)).collect(),
        sorts,
        text: params.get("query").unwrap_or_default().to_string(),
        environment: params.get("environment").unwrap_or_default().to_string(),
        release: params.get("release").unwrap_or_default().to_string(),
        releases,
        monitors,
    })
}
