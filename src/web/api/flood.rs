//! Alert flood mode over HTTP: `GET`, `POST` and `DELETE`
//! `/api/belfry/flood`. Turning it on or off is recorded in the audit log
//! by flood mode itself, with its end, reason and overrides.

use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::alerting::{FloodMode, FloodRequest, FloodState};
use crate::model::rfc3339;
use crate::web::access::ActingAs;
use crate::web::error::ApiError;
use crate::web::state::AppState;

use super::success;

fn flood(state: &AppState) -> Result<&Arc<FloodMode>, ApiError> {
    state
        .flood
        .as_ref()
        .ok_or_else(|| ApiError::NotFound("this server has no alert flood mode".to_string()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OnBody {
    until: Option<String>,
    duration: Option<String>,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    overrides: Vec<String>,
}

/// What `GET` answers: whether flood mode is on, its window, reason and
/// overrides, and what the configuration offers.
pub fn status_json(flood: &FloodMode) -> Value {
    let state = flood.status();
    let cfg = flood.config();
    let window = |s: &FloodState| {
        json!({
            "startsAt": rfc3339(s.started_at()),
            "endsAt": rfc3339(s.ends_at()),
            "createdBy": s.by,
            "reason": s.reason,
            "overrides": s.overrides,
            "silenceId": s.silence_id,
        })
    };
    json!({
        "active": state.is_some(),
        "current": state.as_ref().map(window),
        "configured": cfg.is_some(),
        "secondaryReceiver": cfg.as_ref().map(|c| c.secondary_receiver.clone()),
        "criticalLabel": cfg.as_ref().map(|c| c.critical_label.clone()),
        "criticalValues": cfg.as_ref().map(|c| c.critical_values.clone()),
        "maxDuration": cfg.as_ref().map(|c| c.max_duration.to_string()),
        "availableOverrides": cfg.as_ref().map(|c| c.overrides.iter().map(|o| json!({"name": o.name, "rule": o.rule, "expr": o.expr})).collect::<Vec<_>>()).unwrap_or_default(),
        "now": rfc3339(SystemTime::now()),
    })
}

/// `GET /api/belfry/flood`.
pub async fn get(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    Ok(success(status_json(flood(&state)?), Vec::new()).into_response())
}

/// `POST /api/belfry/flood` `{"until" | "duration", "reason", "overrides"}`:
/// turns flood mode on, or replaces the end, reason and overrides of flood
/// mode already on.
pub async fn on(
    State(state): State<Arc<AppState>>,
    ActingAs(actor): ActingAs,
    body: Bytes,
) -> Result<Response, ApiError> {
    let flood = flood(&state)?;
    let b: OnBody = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadData(format!(
            "the body must be {{\"until\" or \"duration\", \"reason\", \"overrides\"}}: {e}"
        ))
    })?;
    flood
        .turn_on(
            FloodRequest {
                until: b.until,
                duration: b.duration,
                reason: b.reason,
                overrides: b.overrides,
            },
            &actor,
        )
        .await?;
    Ok(success(status_json(flood), Vec::new()).into_response())
}

/// `DELETE /api/belfry/flood`: turns flood mode off before its end (409
/// when it is not on).
pub async fn off(
    State(state): State<Arc<AppState>>,
    ActingAs(actor): ActingAs,
) -> Result<Response, ApiError> {
    let flood = flood(&state)?;
    flood.turn_off(&actor).await?;
    Ok(success(status_json(flood), Vec::new()).into_response())
}
