//! `POST /api/belfry/logs`: NDJSON (one JSON object per line), optionally
//! gzip-encoded. Answers once every accepted record is fsynced in the
//! logs WAL; lines that are not JSON objects, or that the store refuses,
//! are listed by line number while the others are kept.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::json;

use crate::logs::ndjson::{LineError, parse_ndjson};
use crate::web::error::ApiError;
use crate::web::state::AppState;

use super::blocking;
use super::logs_body::read_body;
use super::logs_search::store;

/// The ingest path's name in `belfry_logs_ingested_total{source}`.
const SOURCE: &str = "ndjson";

pub async fn ingest_ndjson(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    let store = store(&state)?;
    let body = read_body(&state, &headers, body).await?;
    let (report, mut errors, lines) = blocking(move || {
        let (numbered, errors) = parse_ndjson(&body);
        let (line_numbers, entries): (Vec<usize>, Vec<_>) = numbered.into_iter().unzip();
        let lines = line_numbers.len() + errors.len();
        store.count_rejected("malformed", errors.len() as u64);
        let report = store.ingest(SOURCE, entries)?;
        let refused = report.rejected.iter().map(|(i, reason)| LineError {
            line: line_numbers[*i],
            reason: reason.clone(),
        });
        let mut errors = errors;
        errors.extend(refused);
        Ok((report, errors, lines))
    })
    .await?;
    errors.sort_by_key(|e| e.line);
    let status = if report.accepted == 0 && lines > 0 {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(json!({
            "accepted": report.accepted,
            "truncated": report.truncated,
            "rejected": errors,
        })),
    ))
}
