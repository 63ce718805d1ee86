//! Sentry's ingest endpoints, `POST /api/{project_id}/envelope/` and
//! `/api/{project_id}/store/`, answering as Sentry's relay does: 200 with
//! `{"id": …}`, refusals with `X-Sentry-Error` (and, on 429, `Retry-After`
//! and `X-Sentry-Rate-Limits`) — mapped in `web/error.rs`.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, header};
use serde_json::{Value, json};

use crate::errors::{Endpoint, ErrorIngest, ErrorsError, IngestRequest};
use crate::web::error::{ApiError, SentryApiError};
use crate::web::state::AppState;

pub fn errors(state: &AppState) -> Result<Arc<ErrorIngest>, ApiError> {
    state
        .errors
        .clone()
        .ok_or_else(|| ApiError::Unavailable("error ingest is not running".into()))
}

pub async fn envelope(
    State(state): State<Arc<AppState>>,
    Path(project): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, SentryApiError> {
    ingest(&state, Endpoint::Envelope, project, query, &headers, body).await
}

pub async fn store(
    State(state): State<Arc<AppState>>,
    Path(project): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<Value>, SentryApiError> {
    ingest(&state, Endpoint::Store, project, query, &headers, body).await
}

async fn ingest(
    state: &AppState,
    endpoint: Endpoint,
    project: String,
    query: Option<String>,
    headers: &HeaderMap,
    body: Body,
) -> Result<Json<Value>, SentryApiError> {
    let errors = errors(state)?;
    let limit = errors.limits().max_envelope_bytes.0;
    let body = axum::body::to_bytes(body, usize::try_from(limit).unwrap_or(usize::MAX))
        .await
        .map_err(|_| {
            let e = ErrorsError::TooLarge {
                what: "the request body",
                size: limit + 1,
                limit,
                key: "max_envelope_bytes",
            };
            errors.count_rejected(&e);
            ApiError::from(e)
        })?;
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let request = IngestRequest {
        project,
        endpoint,
        auth_header: header("x-sentry-auth").or_else(|| header(header::AUTHORIZATION.as_str())),
        query,
        content_encoding: header(header::CONTENT_ENCODING.as_str()),
        body,
    };
    let prepared = {
        let errors = errors.clone();
        tokio::task::spawn_blocking(move || errors.prepare(request))
            .await
            .map_err(|e| ApiError::Internal(format!("error ingest task failed: {e}")))?
            .map_err(ApiError::from)?
    };
    let id = errors.commit(prepared).await.map_err(ApiError::from)?;
    Ok(Json(json!({ "id": id })))
}
