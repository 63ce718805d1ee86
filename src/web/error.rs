//! The one place where errors become HTTP responses, in Prometheus's error
//! shape: `{"status":"error","errorType":"bad_data","error":"..."}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::ingest::{ErrorKind as IngestErrorKind, IngestError};
use crate::promql::PromqlError;
use crate::tsdb::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed (Prometheus `bad_data`, 400).
    #[error("{0}")]
    BadData(String),
    /// The request body is larger than the configured limit (413).
    #[error("request body exceeds the limit of {limit} bytes (server.max_request_body_bytes)")]
    BodyTooLarge { limit: usize },
    /// The body's media type or encoding is not one we take (415).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The server is not ready to serve this yet (503).
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// A query that failed to parse or evaluate; its kind picks the
    /// `errorType` (bad_data, execution, timeout, canceled, internal).
    #[error(transparent)]
    Promql(#[from] PromqlError),
    /// Anything else that is our fault (500).
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    fn status_and_type(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadData(_) => (StatusCode::BAD_REQUEST, "bad_data"),
            ApiError::BodyTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "bad_data"),
            ApiError::UnsupportedMediaType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "bad_data"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Storage(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            ApiError::Ingest(e) => match e.kind() {
                IngestErrorKind::BadRequest => (StatusCode::BAD_REQUEST, "bad_data"),
                IngestErrorKind::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "bad_data"),
                IngestErrorKind::UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "bad_data"),
                IngestErrorKind::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            },
            ApiError::Promql(e) => match e.error_type() {
                "bad_data" => (StatusCode::BAD_REQUEST, "bad_data"),
                "execution" => (StatusCode::UNPROCESSABLE_ENTITY, "execution"),
                "timeout" => (StatusCode::SERVICE_UNAVAILABLE, "timeout"),
                // 499 is the de-facto "client closed request" status.
                "canceled" => (
                    StatusCode::from_u16(499).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
                    "canceled",
                ),
                _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            },
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error_type) = self.status_and_type();
        if status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let body = json!({"status": "error", "errorType": error_type, "error": self.to_string()});
        (status, Json(body)).into_response()
    }
}
