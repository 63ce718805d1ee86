//! `POST /api/v1/write` (Prometheus remote write) and
//! `POST /api/v1/import/prometheus` (text-format push). The work is in
//! `crate::ingest`; these read the body under the size limit and answer.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::IntoResponse;

use crate::ingest::{self, RemoteWriteHeaders, remote_write};
use crate::web::error::ApiError;
use crate::web::state::AppState;

use super::blocking;

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Reads the whole body, refusing (and counting) one over the limit before
/// it is all in memory.
async fn read_body(state: &AppState, body: Body) -> Result<Bytes, ApiError> {
    let limit = state.max_request_body_bytes;
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        state.metrics.body_limit_exceeded.inc();
        ApiError::BodyTooLarge { limit }
    })
}

/// A 2xx means every accepted sample is in the WAL.
pub async fn remote_write(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    let body = read_body(&state, body).await?;
    let content_type = header_str(&headers, header::CONTENT_TYPE.as_str()).map(str::to_string);
    let content_encoding = header_str(&headers, header::CONTENT_ENCODING.as_str()).map(str::to_string);
    let version = header_str(&headers, "x-prometheus-remote-write-version").map(str::to_string);
    let st = state.clone();
    blocking(move || {
        let headers = RemoteWriteHeaders {
            content_type: content_type.as_deref(),
            content_encoding: content_encoding.as_deref(),
            version: version.as_deref(),
        };
        remote_write::receive_with_exemplars(
            st.storage.as_ref(),
            Some(st.exemplars.as_ref()),
            &headers,
            &body,
            &st.ingest_limits,
            &st.ingest_metrics,
        )?;
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Text format (or OpenMetrics by Content-Type), optionally gzip-encoded;
/// `extra_label=name=value` parameters are added to every series.
pub async fn import_prometheus(
    State(state): State<Arc<AppState>>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Result<impl IntoResponse, ApiError> {
    // The body is the data, so parameters come from the query string only.
    let extra_labels = form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == "extra_label")
        .map(|(_, v)| ingest::parse_extra_label(&v))
        .collect::<Result<Vec<_>, _>>()?;
    let body = read_body(&state, body).await?;
    let content_type = header_str(&headers, header::CONTENT_TYPE.as_str()).map(str::to_string);
    let content_encoding = header_str(&headers, header::CONTENT_ENCODING.as_str()).map(str::to_string);
    let st = state.clone();
    blocking(move || {
        ingest::push_text(
            st.storage.as_ref(),
            &body,
            content_type.as_deref(),
            content_encoding.as_deref(),
            &extra_labels,
            &st.ingest_limits,
            &st.ingest_metrics,
        )?;
        Ok(())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
