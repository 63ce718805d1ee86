//! `/reports` and `/reports/{name}`: the SEV-3 reports with their
//! schedules, receivers and last sends, and one report built now over a
//! period chosen on the page — the same HTML the mail carries
//! (`reports::html_body`), styled by the same `report.css`.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;

use crate::reports::model::Period;
use crate::reports::{ReportStatus, html_body, period_text};
use crate::web::state::AppState;

use super::frame::{Frame, Section};
use super::render::{not_found_with, render};
use super::times;

/// The longest period a page builds a report over.
const MAX_PERIOD_MS: i64 = 366 * 86_400_000;

/// Lengths offered on the page, ending now.
const LENGTHS: [(&str, &str); 4] = [
    ("now-24h", "Last 24 hours"),
    ("now-7d", "Last 7 days"),
    ("now-30d", "Last 30 days"),
    ("now-90d", "Last 90 days"),
];

#[derive(Template)]
#[template(path = "reports.html")]
struct ListPage {
    frame: Frame,
    section: Section,
    title: &'static str,
    rows: Vec<ReportStatus>,
    error: String,
}

pub struct Choice {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

/// A scheduled period, as a link.
pub struct PastPeriod {
    pub href: String,
    pub label: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "report.html")]
struct ReportPage {
    frame: Frame,
    section: Section,
    title: String,
    name: String,
    lengths: Vec<Choice>,
    past: Vec<PastPeriod>,
    /// The report's HTML, escaped where it holds data (`report_body.html`).
    body: String,
    error: String,
}

/// `GET /reports`.
pub async fn list(State(state): State<Arc<AppState>>, frame: Frame) -> Response {
    let (rows, error) = match &state.reports {
        None => (Vec::new(), "This server sends no reports.".to_string()),
        Some(r) => match r.list().await {
            Ok(rows) => (rows, String::new()),
            Err(e) => (Vec::new(), format!("The reports' send times cannot be read: {e}")),
        },
    };
    render(&ListPage {
        frame,
        section: Section::Reports,
        title: "Reports",
        rows,
        error,
    })
}

/// `GET /reports/{name}?from=&to=`: `from` and `to` in Grafana's form
/// (`now-7d`, or Unix milliseconds); without them, one period of the
/// report's schedule up to now.
pub async fn view(
    State(state): State<Arc<AppState>>,
    frame: Frame,
    Path(name): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let Some(title) = crate::reports::title(&name) else {
        return not_found_with(
            frame,
            Section::Reports,
            format!("There is no report \"{name}\": the reports are daily, weekly and monthly."),
            ("/reports", "All reports"),
        );
    };
    let Some(reports) = state.reports.clone() else {
        return not_found_with(
            frame,
            Section::Reports,
            "This server sends no reports.".into(),
            ("/reports", "All reports"),
        );
    };
    let now = times::now_ms();
    let from = params.get("from").map(String::as_str);
    let to = params.get("to").map(String::as_str).unwrap_or("now");
    let chosen = from.and_then(|f| Some((times::resolve(f, now)?, times::resolve(to, now)?)));
    let period = match chosen {
        Some((start, end)) if start < end => Period {
            start_ms: start.max(end - MAX_PERIOD_MS),
            end_ms: end,
        },
        _ => match reports.period_ending(&name, now) {
            Ok(p) => p,
            Err(e) => return error_page(frame, &name, title, e.to_string()),
        },
    };
    let lengths = LENGTHS
        .iter()
        .map(|(value, label)| Choice {
            value,
            label,
            selected: from == Some(*value) && to == "now",
        })
        .collect();
    let past = reports
        .recent_periods(&name, now, 6)
        .unwrap_or_default()
        .into_iter()
        .map(|p| PastPeriod {
            href: format!("/reports/{name}?from={}&to={}", p.start_ms, p.end_ms),
            label: period_label(&reports, &name, p),
            current: p == period,
        })
        .collect();
    let (body, error) = match reports.build(&name, period).await {
        Ok(report) => (html_body(&report), String::new()),
        Err(e) => (String::new(), format!("The report cannot be built: {e}")),
    };
    render(&ReportPage {
        frame,
        section: Section::Reports,
        title: title.to_string(),
        name,
        lengths,
        past,
        body,
        error,
    })
}

fn period_label(reports: &crate::reports::Reports, name: &str, p: Period) -> String {
    let tz = reports.timezone(name).unwrap_or(chrono_tz::UTC);
    let report = crate::reports::model::Report {
        name: name.to_string(),
        title: String::new(),
        period: p,
        timezone: tz.name().to_string(),
        generated_ms: 0,
        url: String::new(),
        sections: Vec::new(),
    };
    period_text(&report)
}

fn error_page(frame: Frame, name: &str, title: &str, error: String) -> Response {
    render(&ReportPage {
        frame,
        section: Section::Reports,
        title: title.to_string(),
        name: name.to_string(),
        lengths: Vec::new(),
        past: Vec::new(),
        body: String::new(),
        error,
    })
}
