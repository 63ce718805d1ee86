//! The cron monitors API under `/api/belfry/errors/`: a project's
//! monitors with their schedule, status, last check-in and next expected
//! time, and one monitor's check-ins, newest first.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use crate::errors::{CheckInRecord, ErrorsError, Monitor, MonitorStore, ScheduleConfig};
use crate::web::error::ApiError;
use crate::web::params::Params;
use crate::web::state::AppState;

use super::errors_ingest::errors;

fn monitors(state: &AppState) -> Result<Arc<MonitorStore>, ApiError> {
    errors(state)?
        .monitors()
        .cloned()
        .ok_or_else(|| ApiError::Unavailable("cron monitors are not running".into()))
}

fn project(params: &Params, required: bool) -> Result<Option<u64>, ApiError> {
    match params.get("project").filter(|s| !s.is_empty()) {
        Some(p) => p.parse::<u64>().map(Some).map_err(|_| {
            ApiError::from(ErrorsError::BadRequest(format!(
                "invalid parameter \"project\": {p:?} is not a project id"
            )))
        }),
        None if required => Err(ApiError::from(ErrorsError::BadRequest(
            "parameter \"project\" is required: a monitor's slug is unique within its project".into(),
        ))),
        None => Ok(None),
    }
}

fn time(secs: Option<f64>) -> Value {
    match secs {
        Some(s) => Value::from(crate::model::rfc3339(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs_f64(s.max(0.0)),
        )),
        None => Value::Null,
    }
}

fn monitor_json(m: &Monitor) -> Value {
    let schedule = match &m.config.schedule {
        ScheduleConfig::Crontab { value } => json!({"type": "crontab", "value": value}),
        ScheduleConfig::Interval { value, unit } => json!({"type": "interval", "value": value, "unit": unit}),
    };
    json!({
        "slug": m.slug,
        "project": m.project.to_string(),
        "status": m.status.as_str(),
        "schedule": schedule,
        "schedule_text": m.config.schedule_text(),
        "timezone": m.config.timezone,
        "checkin_margin": m.config.checkin_margin,
        "max_runtime": m.config.max_runtime,
        "failure_issue_threshold": m.config.failure_issue_threshold,
        "recovery_threshold": m.config.recovery_threshold,
        "environment": m.environment,
        "last_checkin": time(m.last_checkin),
        "last_checkin_status": m.last_status.map(|s| s.as_str()),
        "next_expected": time(m.next_expected),
        "incident": m.incident.as_ref().map(|i| json!({"kind": i.status_name(), "started": time(Some(i.started))})),
    })
}

fn checkin_json(c: &CheckInRecord) -> Value {
    json!({
        "id": c.check_in_id,
        "status": c.status.as_str(),
        "date": time(Some(c.date)),
        "duration": c.duration,
        "environment": c.environment,
        "release": c.release,
    })
}

/// `GET /api/belfry/errors/monitors?project=ID`
pub async fn list(State(state): State<Arc<AppState>>, params: Params) -> Result<Json<Value>, ApiError> {
    let store = monitors(&state)?;
    let project = project(&params, false)?;
    let data: Vec<Value> = store.monitors(project).iter().map(monitor_json).collect();
    Ok(Json(json!({ "data": data })))
}

/// `GET /api/belfry/errors/monitors/{slug}/checkins?project=ID`
pub async fn checkins(
    State(state): State<Arc<AppState>>,
    Path(slug): Path<String>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let store = monitors(&state)?;
    let project = project(&params, true)?.expect("required");
    let found = store
        .checkins(project, &slug)
        .ok_or_else(|| ApiError::NotFound(format!("project {project} has no cron monitor {slug:?}")))?;
    let data: Vec<Value> = found.iter().map(checkin_json).collect();
    Ok(Json(json!({ "data": data })))
}
