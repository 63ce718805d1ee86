//! `GET /api/belfry/annotations?start=&end=` (Unix seconds or RFC 3339):
//! what dashboards mark on their graphs — each firing period of an alert,
//! read back from the `ALERTS` series the rules write (so it outlives
//! restarts and needs no table of its own), and each error release's first
//! event.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use serde_json::Value;

use crate::model::Matcher;
use crate::web::error::ApiError;
use crate::web::params::{Params, parse_time};
use crate::web::state::AppState;

use super::{blocking, success};

/// Two firing samples further apart than this belong to two periods: the
/// rules write `ALERTS` every evaluation, at most a few minutes apart.
const MAX_GAP_MS: i64 = 5 * 60 * 1000;
/// A range holding more than this is answered with its first ones.
const MAX_ANNOTATIONS: usize = 1_000;
const DEFAULT_RANGE_MS: i64 = 6 * 3600 * 1000;

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Annotation {
    pub time: i64,
    pub time_end: Option<i64>,
    pub kind: &'static str,
    pub title: String,
    pub text: String,
    pub severity: Option<String>,
    pub link: Option<String>,
}

fn time_param(params: &Params, key: &str) -> Result<Option<i64>, ApiError> {
    match params.get(key) {
        None | Some("") => Ok(None),
        Some(s) => parse_time(s).map(Some).ok_or_else(|| {
            ApiError::BadData(format!(
                "invalid parameter {key:?}: {s:?} is neither an RFC 3339 time nor Unix seconds"
            ))
        }),
    }
}

/// Firing periods from one series' sample times.
fn periods(times: &[i64]) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    for &t in times {
        match out.last_mut() {
            Some((_, end)) if t - *end <= MAX_GAP_MS => *end = t,
            _ => out.push((t, t)),
        }
    }
    out
}

fn alert_annotations(state: &AppState, start: i64, end: i64) -> Result<Vec<Annotation>, ApiError> {
    let matchers = [
        Matcher::equal("__name__", "ALERTS"),
        Matcher::equal("alertstate", "firing"),
    ];
    let mut out = Vec::new();
    for mut series in state.storage.querier().select(&matchers, start, end)? {
        let mut times = Vec::new();
        let mut batch = Vec::new();
        while series.samples.next_batch(&mut batch) {
            times.extend(batch.drain(..).filter(|(_, v)| !v.is_nan()).map(|(t, _)| t));
        }
        let labels = &series.labels;
        let name = labels.get("alertname").unwrap_or("alert").to_string();
        let text = labels
            .iter()
            .filter(|l| !matches!(l.name.as_str(), "__name__" | "alertname" | "alertstate"))
            .map(|l| format!("{}={}", l.name, l.value))
            .collect::<Vec<_>>()
            .join(" ");
        for (from, to) in periods(&times) {
            out.push(Annotation {
                time: from,
                time_end: Some(to),
                kind: "alert",
                title: name.clone(),
                text: text.clone(),
                severity: labels.get("severity").map(str::to_string),
                link: Some(format!("/alerts?q={}", crate::web::access::percent_encode(&name))),
            });
        }
    }
    Ok(out)
}

/// A release's first event in any environment, once per version.
fn release_annotations(state: &AppState, start: i64, end: i64) -> Vec<Annotation> {
    let Some(errors) = &state.errors else {
        return Vec::new();
    };
    let Some(health) = errors.health() else {
        return Vec::new();
    };
    let now = crate::model::now_millis() as f64 / 1000.0;
    let mut first: BTreeMap<String, (f64, Vec<String>)> = BTreeMap::new();
    for project in errors.project_ids() {
        for r in health.releases.releases(project, None, now) {
            let e = first.entry(r.version).or_insert((r.first_seen, Vec::new()));
            e.0 = e.0.min(r.first_seen);
            if !e.1.contains(&r.environment) {
                e.1.push(r.environment);
            }
        }
    }
    first
        .into_iter()
        .map(|(version, (seen, envs))| (version, (seen * 1000.0) as i64, envs))
        .filter(|(_, t, _)| (start..=end).contains(t))
        .map(|(version, t, envs)| Annotation {
            time: t,
            time_end: None,
            kind: "release",
            title: format!("release {version}"),
            text: if envs.is_empty() {
                String::new()
            } else {
                format!("environments: {}", envs.join(", "))
            },
            severity: None,
            link: None,
        })
        .collect()
}

/// `GET /api/belfry/annotations`.
pub async fn list(State(state): State<Arc<AppState>>, params: Params) -> Result<Json<Value>, ApiError> {
    let end = time_param(&params, "end")?.unwrap_or_else(crate::model::now_millis);
    let start = time_param(&params, "start")?.unwrap_or(end - DEFAULT_RANGE_MS);
    if start > end {
        return Err(ApiError::BadData("invalid parameters: start is after end".into()));
    }
    let list = blocking(move || {
        let mut all = alert_annotations(&state, start, end)?;
        all.extend(release_annotations(&state, start, end));
        all.sort_by_key(|a| a.time);
        all.truncate(MAX_ANNOTATIONS);
        Ok(all)
    })
    .await?;
    Ok(success(list, vec![]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_close_together_are_one_period() {
        let m = 60_000;
        assert_eq!(periods(&[]), vec![]);
        assert_eq!(periods(&[0, m, 2 * m]), vec![(0, 2 * m)]);
        assert_eq!(periods(&[0, m, 10 * m, 11 * m]), vec![(0, m), (10 * m, 11 * m)]);
    }
}
