//! A log shipper's request body: read up to `server.request_body_limit`
//! and, when `Content-Encoding: gzip`, decompressed to no more than that
//! limit either, so a small bomb cannot take memory. Shared by every log
//! ingest route.

use std::io::Read;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, header};

use crate::web::error::ApiError;
use crate::web::state::AppState;

pub async fn read_body(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    let limit = state.max_request_body_bytes;
    let raw = axum::body::to_bytes(body, limit).await.map_err(|_| {
        state.metrics.body_limit_exceeded.inc();
        ApiError::BodyTooLarge { limit }
    })?;
    let encoding = headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(|s| s.trim().to_ascii_lowercase());
    match encoding.as_deref() {
        None | Some("") | Some("identity") => Ok(raw),
        Some("gzip") => {
            // The decompressed body is held to the same limit, so a small
            // bomb cannot take memory.
            let mut out = Vec::new();
            let mut reader = flate2::read::MultiGzDecoder::new(&raw[..]).take(limit as u64 + 1);
            reader
                .read_to_end(&mut out)
                .map_err(|e| ApiError::BadData(format!("the gzip body does not decompress: {e}")))?;
            if out.len() > limit {
                state.metrics.body_limit_exceeded.inc();
                return Err(ApiError::BodyTooLarge { limit });
            }
            Ok(out.into())
        }
        Some(other) => Err(ApiError::UnsupportedMediaType(format!(
            "Content-Encoding {other:?} is not supported; send identity or gzip"
        ))),
    }
}
