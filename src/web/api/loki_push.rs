//! `POST /loki/api/v1/push`: Loki's push API, JSON (optionally gzip) or
//! snappy-compressed protobuf (any other content type, as Loki reads it).
//! Answers as Loki does: 204 once every record is fsynced in the logs
//! WAL; 400 with a plain-text message naming each refused stream or entry
//! (the valid ones are kept, as Loki keeps them); 429 with `Retry-After`
//! when the index is behind.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::logs::ingest::loki::{self, LokiError};
use crate::logs::ingest::{Decoded, Rejected};
use crate::web::error::{ApiError, LokiApiError};
use crate::web::state::AppState;

use super::blocking;
use super::logs_body::read_body;
use super::logs_search::store;

/// The ingest path's name in `belfry_logs_ingested_total{source}`.
const SOURCE: &str = "loki";
/// Refusals listed in a 400 answer, at most; the rest are counted.
const MAX_LISTED: usize = 10;

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        })
}

pub async fn push(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, LokiApiError> {
    let store = store(&state)?;
    let json = is_json(&headers);
    let body = read_body(&state, &headers, body).await?;
    let max_decompressed = state.max_request_body_bytes;
    let refusals = blocking(move || {
        let decoded: Decoded<LokiError> = if json {
            loki::decode_json(&body)
        } else {
            loki::decode_snappy(&body, max_decompressed)
        }
        .map_err(|e| ApiError::BadData(format!("cannot read the push request: {e}")))?;
        store.count_rejected("malformed", decoded.rejected.len() as u64);
        let mut refusals: Vec<String> = decoded.rejected.iter().map(describe).collect();
        let report = store.ingest(SOURCE, decoded.entries)?;
        refusals.extend(
            report
                .rejected
                .iter()
                .map(|(i, reason)| format!("entry {i} of the request: {reason}")),
        );
        Ok(refusals)
    })
    .await?;
    if refusals.is_empty() {
        return Ok(StatusCode::NO_CONTENT.into_response());
    }
    let mut text = refusals
        .iter()
        .take(MAX_LISTED)
        .cloned()
        .collect::<Vec<_>>()
        .join("\n");
    if refusals.len() > MAX_LISTED {
        text.push_str(&format!("\nand {} more", refusals.len() - MAX_LISTED));
    }
    text.push('\n');
    Ok((
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response())
}

fn describe(r: &Rejected<LokiError>) -> String {
    format!("stream {}: {}", r.item, r.error)
}
