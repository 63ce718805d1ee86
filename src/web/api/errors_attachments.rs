//! Event attachments: each event of `GET …/issues/{id}/events` lists its
//! own (name, type, size), and
//! `GET /api/belfry/errors/events/{event_id}/attachments/{name}?project=ID`
//! answers the bytes as stored, with their content type.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use serde_json::{Value, json};

use crate::errors::ErrorHealth;
use crate::web::error::ApiError;
use crate::web::params::Params;
use crate::web::state::AppState;

use super::blocking;
use super::errors_releases::{health, project};

/// Adds `attachments: [{name, content_type, attachment_type, size}]` to
/// each stored event (JSON with `project` and `event_id`). Blocking.
pub fn add_to_events(health: &ErrorHealth, events: &mut [Value]) -> Result<(), ApiError> {
    for event in events {
        let (Some(project), Some(id)) = (
            event.get("project").and_then(Value::as_u64),
            event.get("event_id").and_then(Value::as_str),
        ) else {
            continue;
        };
        let list = health.attachments.list(project, id)?;
        event["attachments"] = json!(list);
    }
    Ok(())
}

/// `GET /api/belfry/errors/events/{event_id}/attachments/{name}?project=ID`
pub async fn download(
    State(state): State<Arc<AppState>>,
    Path((event_id, name)): Path<(String, String)>,
    params: Params,
) -> Result<Response, ApiError> {
    let health = health(&state)?;
    let project = project(&params)?;
    let event_id = event_id.replace('-', "").to_ascii_lowercase();
    let (meta, data) = blocking(move || {
        health
            .attachments
            .get(project, &event_id, &name)
            .map_err(ApiError::from)
    })
    .await?;
    let mut response = Response::new(Body::from(data));
    let content_type = HeaderValue::from_str(&meta.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    response.headers_mut().insert(header::CONTENT_TYPE, content_type);
    // Served as a download, never rendered in the UI's origin.
    response.headers_mut().insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_static("attachment"),
    );
    response.headers_mut().insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}
