//! Release health under `/api/belfry/errors/releases`: every release of
//! a project with its sessions, crash-free rates and adoption, and one
//! release per environment with its sessions hour by hour. Rates and
//! adoption are percentages, as Sentry shows them; `null` when there is
//! nothing to divide by.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use crate::errors::{ErrorHealth, ErrorsError, HealthCounts, IssueQuery, ReleaseHealthSummary};
use crate::model::now_seconds;
use crate::web::error::ApiError;
use crate::web::params::Params;
use crate::web::state::AppState;

use super::errors_ingest::errors;

pub fn health(state: &AppState) -> Result<Arc<ErrorHealth>, ApiError> {
    errors(state)?
        .health()
        .cloned()
        .ok_or_else(|| ApiError::Unavailable("release health is not running".into()))
}

pub fn project(params: &Params) -> Result<u64, ApiError> {
    let p = params.get("project").filter(|s| !s.is_empty()).ok_or_else(|| {
        ApiError::from(ErrorsError::BadRequest(
            "missing parameter \"project\" (a project id)".into(),
        ))
    })?;
    p.parse::<u64>().map_err(|_| {
        ApiError::from(ErrorsError::BadRequest(format!(
            "invalid parameter \"project\": {p:?} is not a project id"
        )))
    })
}

fn rfc3339(secs: f64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(secs.max(0.0));
    crate::model::rfc3339(t)
}

fn percent(rate: Option<f64>) -> Value {
    rate.map_or(Value::Null, |r| json!((r * 100_000.0).round() / 1_000.0))
}

fn counts_json(c: &HealthCounts) -> Value {
    json!({
        "sessions": c.sessions,
        "sessions_healthy": c.healthy,
        "sessions_errored": c.errored,
        "sessions_abnormal": c.abnormal,
        "sessions_crashed": c.crashed,
        "crash_free_sessions": percent(c.crash_free_sessions()),
        "users": c.users,
        "users_crashed": c.crashed_users,
        "crash_free_users": percent(c.crash_free_users()),
    })
}

fn summary_json(s: &ReleaseHealthSummary, issues: usize) -> Value {
    let mut v = counts_json(&s.counts);
    v["version"] = json!(s.version);
    v["environment"] = json!(s.environment);
    v["adoption"] = percent(s.adoption);
    v["users_adoption"] = percent(s.users_adoption);
    v["first_seen"] = json!(rfc3339(s.first_seen));
    v["last_seen"] = json!(rfc3339(s.last_seen));
    v["issues"] = json!(issues);
    v
}

fn issues_in(state: &AppState, project: u64, release: &str, environment: &str) -> Result<usize, ApiError> {
    let query = IssueQuery {
        project: Some(project),
        release: Some(release.to_string()),
        environment: (!environment.is_empty()).then(|| environment.to_string()),
        ..IssueQuery::default()
    };
    Ok(errors(state)?.store().issues(&query).len())
}

/// `GET /api/belfry/errors/releases?project=ID[&environment=E]`
pub async fn list(State(state): State<Arc<AppState>>, params: Params) -> Result<Json<Value>, ApiError> {
    let health = health(&state)?;
    let project = project(&params)?;
    let environment = params.get("environment").filter(|s| !s.is_empty());
    let releases = health.releases.releases(project, environment, now_seconds());
    let mut data = Vec::with_capacity(releases.len());
    for r in &releases {
        data.push(summary_json(
            r,
            issues_in(&state, project, &r.version, &r.environment)?,
        ));
    }
    Ok(Json(json!({ "data": data })))
}

/// `GET /api/belfry/errors/releases/{version}?project=ID`: the release in
/// each environment, and its sessions by status hour by hour.
pub async fn detail(
    State(state): State<Arc<AppState>>,
    Path(version): Path<String>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let health = health(&state)?;
    let project = project(&params)?;
    let environments: Vec<ReleaseHealthSummary> = health
        .releases
        .releases(project, None, now_seconds())
        .into_iter()
        .filter(|r| r.version == version)
        .collect();
    if environments.is_empty() {
        return Err(ErrorsError::NotFound(format!(
            "project {project} has no sessions of release {version:?}"
        ))
        .into());
    }
    let mut envs = Vec::with_capacity(environments.len());
    for r in &environments {
        envs.push(summary_json(
            r,
            issues_in(&state, project, &r.version, &r.environment)?,
        ));
    }
    let series: Vec<Value> = health
        .releases
        .series(project, &version)
        .iter()
        .map(|p| {
            let mut v = counts_json(&p.counts);
            v["time"] = json!(rfc3339(p.hour as f64));
            v["environment"] = json!(p.environment);
            v
        })
        .collect();
    Ok(Json(json!({
        "data": { "version": version, "environments": envs, "series": series }
    })))
}
