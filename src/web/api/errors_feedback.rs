//! An issue's user feedback, `GET /api/belfry/errors/issues/{id}/feedback`
//! (newest first; e-mail addresses and names were replaced by the user
//! token at ingest), and the list the issue detail embeds.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Value, json};

use crate::errors::ErrorsError;
use crate::web::error::ApiError;
use crate::web::state::AppState;

use super::blocking;
use super::errors_ingest::errors;
use super::errors_releases::health;

/// Most feedback one answer lists.
const MAX_FEEDBACK: usize = 1_000;

/// The feedback of `issue`, or an empty list when the server keeps none.
pub async fn of_issue(state: &AppState, issue: u64) -> Result<Vec<Value>, ApiError> {
    let Ok(health) = health(state) else {
        return Ok(Vec::new());
    };
    blocking(move || {
        health
            .feedback
            .for_issue(issue, MAX_FEEDBACK)
            .map_err(ApiError::from)
    })
    .await
}

/// `GET /api/belfry/errors/issues/{id}/feedback`
pub async fn list(
    State(state): State<Arc<AppState>>,
    Path(issue): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id: u64 = issue
        .parse()
        .map_err(|_| ApiError::from(ErrorsError::BadRequest(format!("{issue:?} is not an issue id"))))?;
    if errors(&state)?.store().issue(id).is_none() {
        return Err(ErrorsError::IssueNotFound(id).into());
    }
    let data = of_issue(&state, id).await?;
    Ok(Json(json!({ "data": data })))
}
