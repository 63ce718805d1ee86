//! `POST /v1/logs`: OTLP/HTTP logs, protobuf (`application/x-protobuf`)
//! or OTLP/JSON (`application/json`), optionally gzip. As the OTLP/HTTP
//! specification says: 200 once every accepted record is fsynced, with
//! `partial_success` (records refused and why) when some were refused;
//! 400 with a `google.rpc.Status` for a body that does not decode; 429
//! with `Retry-After` when the index is behind; answers in the request's
//! encoding.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::logs::ingest::otlp;
use crate::web::error::{ApiError, OtlpApiError};
use crate::web::state::AppState;

use super::blocking;
use super::logs_body::read_body;
use super::logs_search::store;

/// The ingest path's name in `belfry_logs_ingested_total{source}`.
const SOURCE: &str = "otlp";

#[derive(Clone, Copy, PartialEq)]
enum Encoding {
    Protobuf,
    Json,
}

fn encoding(headers: &HeaderMap) -> Result<Encoding, String> {
    let media = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    match media.as_deref() {
        Some("application/x-protobuf") | Some("application/protobuf") => Ok(Encoding::Protobuf),
        Some("application/json") => Ok(Encoding::Json),
        other => Err(format!(
            "OTLP/HTTP takes Content-Type application/x-protobuf or application/json, got {}",
            other.unwrap_or("none")
        )),
    }
}

pub async fn export_logs(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, OtlpApiError> {
    let encoding = match encoding(&headers) {
        Ok(e) => e,
        Err(m) => {
            return Err(OtlpApiError {
                error: ApiError::UnsupportedMediaType(m),
                protobuf: true,
            });
        }
    };
    let fail = |error: ApiError| OtlpApiError {
        error,
        protobuf: encoding == Encoding::Protobuf,
    };
    let store = store(&state).map_err(fail)?;
    let body = read_body(&state, &headers, body).await.map_err(fail)?;
    let (rejected, reasons) = blocking(move || {
        let request = match encoding {
            Encoding::Protobuf => otlp::decode_protobuf(&body),
            Encoding::Json => otlp::decode_json(&body),
        }
        .map_err(|e| ApiError::BadData(e.to_string()))?;
        let decoded = otlp::entries(request);
        store.count_rejected("malformed", decoded.rejected.len() as u64);
        let mut reasons: Vec<String> = decoded.rejected.iter().map(|r| r.error.to_string()).collect();
        let report = store.ingest(SOURCE, decoded.entries)?;
        reasons.extend(report.rejected.into_iter().map(|(_, reason)| reason));
        Ok((reasons.len(), reasons))
    })
    .await
    .map_err(fail)?;
    Ok(match encoding {
        Encoding::Protobuf => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/x-protobuf")],
            otlp::response_protobuf(rejected, &reasons),
        )
            .into_response(),
        Encoding::Json => (
            StatusCode::OK,
            axum::Json(otlp::response_json(rejected, &reasons)),
        )
            .into_response(),
    })
}
