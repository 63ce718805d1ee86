//! Check 1: every query of every dashboard (built-in and imported) returns
//! data over the dashboard's own default time range. A query that errors
//! or answers no series fails, named by dashboard, panel and query;
//! annotation queries must run but may answer nothing.

use std::time::{SystemTime, UNIX_EPOCH};

use futures_util::stream::{self, StreamExt};
use serde_json::Value;

use super::api::Api;
use super::dashboard_queries::{DashboardQuery, Language, Window, queries};
use super::report::{CheckOutcome, count};

pub const NAME: &str = "dashboards";

/// Queries in flight at once: enough to overlap the round trips, few
/// enough that a verification never crowds out the dashboards' users.
const PARALLEL_QUERIES: usize = 4;

/// One query's answer: an error, or whether it held any series.
enum Answer {
    Data,
    Empty,
    Error(String),
}

pub async fn check(api: &Api, only: &[String]) -> CheckOutcome {
    let list = match api.get("/api/belfry/dashboards", &[]).await {
        Ok(v) => v["data"].as_array().cloned().unwrap_or_default(),
        Err(e) => return CheckOutcome::fail(NAME, format!("cannot list the dashboards: {e}")),
    };
    let uids: Vec<String> = list
        .iter()
        .filter_map(|d| d["uid"].as_str().map(str::to_string))
        .filter(|uid| only.is_empty() || only.contains(uid))
        .collect();
    if let Some(missing) = only.iter().find(|u| !uids.contains(u)) {
        return CheckOutcome::fail(NAME, format!("no dashboard {missing:?} on the server"));
    }
    if uids.is_empty() {
        return CheckOutcome::skip(NAME, "the server has no dashboards");
    }
    let mut failures = Vec::new();
    let mut notes = Vec::new();
    let (mut with_data, mut exempt_empty) = (0usize, 0usize);
    for uid in &uids {
        let model = match api.get(&format!("/api/belfry/dashboards/{uid}"), &[]).await {
            Ok(v) => v["dashboard"].clone(),
            Err(e) => {
                failures.push(format!("dashboard {uid}: cannot read it: {e}"));
                continue;
            }
        };
        let title = model["title"].as_str().unwrap_or(uid).to_string();
        let window = Window::of_dashboard(&model);
        let (qs, left_out) = queries(uid, &model, window);
        notes.extend(
            left_out
                .into_iter()
                .map(|l| format!("dashboard {title:?} ({uid}): {l}, not checked")),
        );
        // In the dashboard's order, so the report reads as the page does.
        let answers: Vec<Answer> = stream::iter(&qs)
            .map(|q| run(api, q, window))
            .buffered(PARALLEL_QUERIES)
            .collect()
            .await;
        for (q, answer) in qs.iter().zip(answers) {
            let culprit = |why: &str| {
                format!(
                    "dashboard {title:?} ({uid}), {}: {why}\nquery: {}",
                    q.source, q.expr
                )
            };
            match answer {
                Answer::Data => with_data += 1,
                Answer::Empty if q.may_be_empty => exempt_empty += 1,
                Answer::Empty => failures.push(culprit(&format!(
                    "no data over the last {}",
                    belfry::model::PromDuration(window.range)
                ))),
                Answer::Error(e) => failures.push(culprit(&e)),
            }
        }
    }
    let exempt = if exempt_empty > 0 {
        format!(
            "; {} ran and marked nothing, which is no fault",
            count(exempt_empty, "annotation query")
        )
    } else {
        String::new()
    };
    if failures.is_empty() {
        let outcome = CheckOutcome::pass(
            NAME,
            format!(
                "{} of {} returned data{exempt}",
                count(with_data, "query"),
                count(uids.len(), "dashboard")
            ),
        );
        return outcome.with_details(notes);
    }
    let failed = failures.len();
    failures.extend(notes);
    CheckOutcome::fail(
        NAME,
        format!(
            "{} failed or returned no data ({with_data} returned data{exempt})",
            count(failed, "dashboard query")
        ),
    )
    .with_details(failures)
}

fn unix_seconds(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs_f64()
}

/// Runs one query as the dashboard page does: PromQL as a range query (or
/// an instant one for an `instant` target), LogQL as a range query.
async fn run(api: &Api, q: &DashboardQuery, window: Window) -> Answer {
    let end = unix_seconds(SystemTime::now());
    let start = end - window.range.as_secs_f64();
    let step = window.step.as_secs().to_string();
    let (end_s, start_s) = (format!("{end:.3}"), format!("{start:.3}"));
    let answer = match (q.language, q.instant) {
        (Language::PromQL, true) => {
            api.get("/api/v1/query", &[("query", &q.expr), ("time", &end_s)])
                .await
        }
        (Language::PromQL, false) => {
            api.get(
                "/api/v1/query_range",
                &[
                    ("query", &q.expr),
                    ("start", &start_s),
                    ("end", &end_s),
                    ("step", &step),
                ],
            )
            .await
        }
        (Language::LogQL, _) => {
            let ns = |s: f64| format!("{}", (s * 1e9) as i128);
            api.get(
                "/loki/api/v1/query_range",
                &[
                    ("query", &q.expr),
                    ("start", &ns(start)),
                    ("end", &ns(end)),
                    ("step", &step),
                    ("limit", "1"),
                ],
            )
            .await
        }
    };
    match answer {
        Err(e) => Answer::Error(e.to_string()),
        Ok(body) if has_series(&body["data"]) => Answer::Data,
        Ok(_) => Answer::Empty,
    }
}

/// Whether an answer holds anything: series, streams, or a scalar.
fn has_series(data: &Value) -> bool {
    match data["resultType"].as_str() {
        Some("scalar") | Some("string") => !data["result"].is_null(),
        _ => data["result"].as_array().is_some_and(|r| !r.is_empty()),
    }
}
