//! `/api/belfry/runbooks`: the list, one runbook, an admin's edit (`PUT`
//! `{"markdown": "…"}`) and the restore of the built-in text (`DELETE`,
//! which removes a runbook that has none), and the editor's preview.
//! Changes are audited by the access layer.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::runbooks::{MAX_RUNBOOK_BYTES, Runbook, RunbookError, Runbooks, render_markdown};
use crate::web::access::ActingAs;
use crate::web::error::ApiError;
use crate::web::state::AppState;

use super::{blocking, success};

fn runbooks(state: &AppState) -> Arc<Runbooks> {
    state.runbooks.clone()
}

fn answer(r: &Runbook) -> Json<Value> {
    success(
        json!({
            "name": r.name,
            "markdown": r.markdown,
            "builtin": r.builtin,
            "edited": r.edited,
            "updated_by": r.updated_by,
            "updated_at": r.updated_at,
            "url": format!("/runbooks/{}", crate::web::access::percent_encode(&r.name)),
        }),
        vec![],
    )
}

/// `GET /api/belfry/runbooks`.
pub async fn list(State(state): State<Arc<AppState>>) -> Json<Value> {
    success(runbooks(&state).list(), vec![])
}

/// `GET /api/belfry/runbooks/{name}`.
pub async fn get(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let runbook = runbooks(&state).get(&name).ok_or(RunbookError::NotFound(name))?;
    Ok(answer(&runbook))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EditBody {
    markdown: String,
}

/// `PUT /api/belfry/runbooks/{name}`: `{"markdown": "…"}`, at most 64 KiB
/// of Markdown.
pub async fn put(
    State(state): State<Arc<AppState>>,
    ActingAs(actor): ActingAs,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let EditBody { markdown } = serde_json::from_slice(&body)
        .map_err(|e| RunbookError::InvalidBody(format!("expected {{\"markdown\": \"…\"}}: {e}")))?;
    let store = runbooks(&state);
    let saved = blocking(move || Ok(store.put(&name, markdown, &actor.name)?)).await?;
    Ok(answer(&saved))
}

/// `POST /api/belfry/runbooks/{name}/preview`: `{"markdown": "…"}` as
/// the page would show it, saving nothing (the editor's preview).
pub async fn preview(body: Bytes) -> Result<Json<Value>, ApiError> {
    let EditBody { markdown } = serde_json::from_slice(&body)
        .map_err(|e| RunbookError::InvalidBody(format!("expected {{\"markdown\": \"…\"}}: {e}")))?;
    if markdown.len() > MAX_RUNBOOK_BYTES {
        return Err(RunbookError::TooLarge {
            size: markdown.len(),
            limit: MAX_RUNBOOK_BYTES,
        }
        .into());
    }
    Ok(success(json!({"html": render_markdown(&markdown)}), vec![]))
}

/// `DELETE /api/belfry/runbooks/{name}`: the built-in text again, or no
/// runbook at all for an alert outside the packs (`data` is then null).
pub async fn restore(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let store = runbooks(&state);
    let restored = blocking(move || Ok(store.restore(&name)?)).await?;
    Ok(match restored {
        Some(r) => answer(&r),
        None => success(Value::Null, vec![]),
    })
}
