//! The SEV-3 reports over HTTP: `GET /api/belfry/reports` (each report's
//! schedule, receiver and last send) and `POST
//! /api/belfry/reports/{name}/send` (build it now over one period of its
//! schedule up to now and mail it; the body may name another receiver as
//! `{"receiver": "…"}`). A send is recorded in the audit log by the
//! access layer (`report.send`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::reports::Reports;
use crate::web::error::ApiError;
use crate::web::state::AppState;

use super::success;

fn reports(state: &AppState) -> Result<&Arc<Reports>, ApiError> {
    state
        .reports
        .as_ref()
        .ok_or_else(|| ApiError::NotFound("this server sends no reports".to_string()))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SendBody {
    receiver: Option<String>,
}

/// `GET /api/belfry/reports`.
pub async fn list(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let list = reports(&state)?.list().await?;
    Ok(success(list, Vec::new()).into_response())
}

/// `POST /api/belfry/reports/{name}/send`: what was delivered where, the
/// integrations skipped and the sections sent marked failed.
pub async fn send(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let reports = reports(&state)?;
    let b: SendBody = if body.iter().all(u8::is_ascii_whitespace) {
        SendBody::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::BadData(format!("the body must be {{\"receiver\": NAME}} or empty: {e}"))
        })?
    };
    let outcome = reports.send_now(&name, b.receiver.as_deref()).await?;
    Ok(success(outcome, Vec::new()).into_response())
}
