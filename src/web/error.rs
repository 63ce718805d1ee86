//! The one place where errors become HTTP responses: one mapping from an
//! error to its status, written in the shape of the API that was called —
//! Prometheus's `{"status":"error","errorType":"bad_data","error":"..."}`
//! ([`ApiError`]), Alertmanager's JSON string ([`AlertmanagerApiError`]),
//! or the log shippers' protocols: Loki's plain text ([`LokiApiError`]),
//! Elasticsearch's `{"error": {...}, "status": N}`
//! ([`ElasticsearchApiError`]) and OTLP's `google.rpc.Status`
//! ([`OtlpApiError`]).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::alerting::AlertingError;
use crate::auth::AuthError;
use crate::backup::BackupError;
use crate::dashboards::DashboardError;
use crate::errors::ErrorsError;
use crate::ingest::{ErrorKind as IngestErrorKind, IngestError};
use crate::logql::LogqlError;
use crate::logs::LogsError;
use crate::promql::PromqlError;
use crate::reports::ReportError;
use crate::runbooks::RunbookError;
use crate::tsdb::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed (Prometheus `bad_data`, 400).
    #[error("{0}")]
    BadData(String),
    /// The request body is larger than the configured limit (413).
    #[error("request body exceeds the limit of {limit} bytes (server.request_body_limit)")]
    BodyTooLarge { limit: usize },
    /// The body's media type or encoding is not one we take (415).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A request a web page could have sent to abuse the server (403).
    #[error("{0}")]
    Forbidden(String),
    /// What the request names does not exist (404).
    #[error("{0}")]
    NotFound(String),
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
    /// The logs store: ingest refusals, search parameters, failures.
    #[error(transparent)]
    Logs(#[from] LogsError),
    /// A LogQL query: parse errors, limits, timeouts, store failures.
    #[error(transparent)]
    Logql(#[from] LogqlError),
    /// Alerts, silences and the alerting configuration.
    #[error(transparent)]
    Alerting(#[from] AlertingError),
    /// Error ingest (Sentry's envelopes) and the issues API.
    #[error(transparent)]
    Errors(#[from] ErrorsError),
    /// Accounts: logins, tokens, users, the audit log.
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Dashboard(#[from] DashboardError),
    #[error(transparent)]
    Runbook(#[from] RunbookError),
    /// Online backups.
    #[error(transparent)]
    Backup(#[from] BackupError),
    #[error(transparent)]
    Report(#[from] ReportError),
    /// Anything else that is our fault (500).
    #[error("{0}")]
    Internal(String),
}

impl ApiError {
    fn promql_status(e: &PromqlError) -> (StatusCode, &'static str) {
        match e.error_type() {
            "bad_data" => (StatusCode::BAD_REQUEST, "bad_data"),
            "execution" => (StatusCode::UNPROCESSABLE_ENTITY, "execution"),
            "timeout" => (StatusCode::SERVICE_UNAVAILABLE, "timeout"),
            // 499 is the de-facto "client closed request" status.
            "canceled" => (
                StatusCode::from_u16(499).unwrap_or(StatusCode::SERVICE_UNAVAILABLE),
                "canceled",
            ),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    fn logs_status(e: &LogsError) -> (StatusCode, &'static str) {
        match e {
            LogsError::Backpressure { .. } => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            LogsError::TooManyLines { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "bad_data"),
            LogsError::BadQuery(_) => (StatusCode::BAD_REQUEST, "bad_data"),
            LogsError::QueryLimit { limit: "timeout", .. } => (StatusCode::GATEWAY_TIMEOUT, "timeout"),
            LogsError::QueryLimit { .. } => (StatusCode::BAD_REQUEST, "bad_data"),
            LogsError::LineNotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            LogsError::Closed => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            LogsError::Io { .. }
            | LogsError::WalFailed(_)
            | LogsError::WalVersion { .. }
            | LogsError::Index(_)
            | LogsError::IndexFormat { .. } => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    fn status_and_type(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadData(_) => (StatusCode::BAD_REQUEST, "bad_data"),
            ApiError::BodyTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "bad_data"),
            ApiError::UnsupportedMediaType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "bad_data"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Storage(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            ApiError::Ingest(e) => match e.kind() {
                IngestErrorKind::BadRequest => (StatusCode::BAD_REQUEST, "bad_data"),
                IngestErrorKind::PayloadTooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "bad_data"),
                IngestErrorKind::UnsupportedMediaType => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "bad_data"),
                IngestErrorKind::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            },
            ApiError::Promql(e) => ApiError::promql_status(e),
            ApiError::Logql(e) => match e {
                LogqlError::Parse(_)
                | LogqlError::BadRequest(_)
                | LogqlError::Limit { .. }
                | LogqlError::Pipeline { .. } => (StatusCode::BAD_REQUEST, "bad_data"),
                LogqlError::Timeout(_) => (StatusCode::GATEWAY_TIMEOUT, "timeout"),
                LogqlError::Logs(e) => ApiError::logs_status(e),
                LogqlError::Promql(e) => ApiError::promql_status(e),
            },
            ApiError::Logs(e) => ApiError::logs_status(e),
            ApiError::Dashboard(e) => match e {
                DashboardError::Invalid { .. } => (StatusCode::BAD_REQUEST, "bad_data"),
                DashboardError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "bad_data"),
                DashboardError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
                DashboardError::BuiltIn(_) => (StatusCode::FORBIDDEN, "forbidden"),
                DashboardError::Exists(_) => (StatusCode::CONFLICT, "conflict"),
                DashboardError::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            },
            ApiError::Runbook(e) => match e {
                // A 400, not a 413: the body arrived whole, and its text is
                // what is refused, naming the limit.
                RunbookError::InvalidName { .. }
                | RunbookError::TooLarge { .. }
                | RunbookError::InvalidBody(_) => (StatusCode::BAD_REQUEST, "bad_data"),
                RunbookError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
                RunbookError::NotEdited(_) => (StatusCode::CONFLICT, "conflict"),
                RunbookError::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            },
            ApiError::Report(e) => match e {
                ReportError::UnknownReport(_) => (StatusCode::NOT_FOUND, "not_found"),
                ReportError::NoReceiver(_)
                | ReportError::UnknownReceiver { .. }
                | ReportError::NoEmail(_) => (StatusCode::BAD_REQUEST, "bad_data"),
                // The mail server refused or was not reached.
                ReportError::Delivery { .. } => (StatusCode::BAD_GATEWAY, "unavailable"),
                ReportError::State(_) | ReportError::Corrupt { .. } | ReportError::Task(_) => {
                    (StatusCode::INTERNAL_SERVER_ERROR, "internal")
                }
            },
            ApiError::Alerting(e) => match e {
                AlertingError::BadAlert(_)
                | AlertingError::BadSilence(_)
                | AlertingError::SilenceExpired(_) => (StatusCode::BAD_REQUEST, "bad_data"),
                AlertingError::SilenceNotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
                AlertingError::FloodRefused { .. } => (StatusCode::BAD_REQUEST, "bad_data"),
                AlertingError::FloodOff => (StatusCode::CONFLICT, "conflict"),
                AlertingError::ReceiverNotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
                AlertingError::TestsBusy(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
                AlertingError::TooManySilences(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
                AlertingError::NoRoute
                | AlertingError::Receiver { .. }
                | AlertingError::Templates(_)
                | AlertingError::UndefinedReceiver(_)
                | AlertingError::Config(_)
                | AlertingError::Route(_)
                | AlertingError::State(_)
                | AlertingError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            },
            ApiError::Errors(e) => match e {
                ErrorsError::MissingAuth | ErrorsError::WrongKey(_) => {
                    (StatusCode::UNAUTHORIZED, "unauthorized")
                }
                ErrorsError::UnknownProject(_) => (StatusCode::FORBIDDEN, "forbidden"),
                ErrorsError::BadProjectId(_)
                | ErrorsError::BadEnvelope(_)
                | ErrorsError::BadEvent(_)
                | ErrorsError::BadEncoding { .. }
                | ErrorsError::BadItem { .. }
                | ErrorsError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_data"),
                ErrorsError::UnsupportedEncoding(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "bad_data"),
                ErrorsError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "bad_data"),
                ErrorsError::RateLimited { .. } => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
                ErrorsError::IssueNotFound(_) | ErrorsError::NotFound(_) => {
                    (StatusCode::NOT_FOUND, "not_found")
                }
                ErrorsError::State(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            },
            ApiError::Auth(e) => ApiError::auth_status(e),
            ApiError::Backup(e) => match e {
                BackupError::Running => (StatusCode::CONFLICT, "conflict"),
                BackupError::Io { .. }
                | BackupError::State(_)
                | BackupError::Metrics(_)
                | BackupError::Logs(_)
                | BackupError::Stream(_)
                | BackupError::TargetNotEmpty(_)
                | BackupError::Damaged(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            },
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }

    fn auth_status(e: &AuthError) -> (StatusCode, &'static str) {
        match e {
            AuthError::InvalidCredentials
            | AuthError::MalformedToken
            | AuthError::UnknownToken
            | AuthError::TokenExpired(_)
            | AuthError::NoSession
            | AuthError::Unauthenticated
            | AuthError::MalformedCredentials(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            AuthError::Forbidden(_) | AuthError::Csrf => (StatusCode::FORBIDDEN, "forbidden"),
            AuthError::Throttled { .. } => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            // A lock is a throttle: the client may try again after it.
            AuthError::Locked { .. } => (StatusCode::TOO_MANY_REQUESTS, "too_many_requests"),
            AuthError::Busy | AuthError::Directory(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            AuthError::UserExists(_) | AuthError::TokenExists(_) => (StatusCode::CONFLICT, "conflict"),
            AuthError::NoSuchUser(_) | AuthError::NoSuchToken(_) => (StatusCode::NOT_FOUND, "not_found"),
            AuthError::Invalid(_) => (StatusCode::BAD_REQUEST, "bad_data"),
            AuthError::Hashing(_) | AuthError::Corrupt { .. } | AuthError::State(_) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "internal")
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, error_type) = self.status_and_type();
        log_server_error(status, &self);
        let body = json!({"status": "error", "errorType": error_type, "error": self.to_string()});
        let mut response = (status, Json(body)).into_response();
        add_retry_after(&self, &mut response);
        response
    }
}

/// A sender told to slow down is told when to come back.
fn add_retry_after(error: &ApiError, response: &mut Response) {
    if let ApiError::Errors(ErrorsError::RateLimited { retry_after_secs, .. }) = error {
        let seconds = retry_after_secs.to_string();
        // Sentry's `retry_after:categories:scope`; no categories = all.
        let limits = format!("{retry_after_secs}::project");
        for (name, value) in [("retry-after", seconds), ("x-sentry-rate-limits", limits)] {
            if let Ok(v) = axum::http::HeaderValue::from_str(&value) {
                response.headers_mut().insert(name, v);
            }
        }
        return;
    }
    let retry_after_secs = match error {
        ApiError::Logs(LogsError::Backpressure { retry_after_secs, .. }) => Some(*retry_after_secs),
        ApiError::Auth(
            AuthError::Locked { retry_after_secs } | AuthError::Throttled { retry_after_secs },
        ) => Some((*retry_after_secs).max(1)),
        ApiError::Auth(AuthError::Busy) => Some(1),
        _ => None,
    };
    if let Some(secs) = retry_after_secs
        && let Ok(v) = axum::http::HeaderValue::from_str(&secs.to_string())
    {
        response.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
    }
}

/// An error of Loki's API (`/loki/api/v1/…`, push and queries): the same
/// statuses, the message as plain text, as Loki answers — what Promtail,
/// Alloy and Docker's driver log and what Grafana shows.
#[derive(Debug)]
pub struct LokiApiError(pub ApiError);

impl<E: Into<ApiError>> From<E> for LokiApiError {
    fn from(e: E) -> Self {
        LokiApiError(e.into())
    }
}

impl IntoResponse for LokiApiError {
    fn into_response(self) -> Response {
        let (status, _) = self.0.status_and_type();
        log_server_error(status, &self.0);
        let text = format!("{}\n", self.0);
        let mut response = (
            status,
            [(axum::http::header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            text,
        )
            .into_response();
        add_retry_after(&self.0, &mut response);
        response
    }
}

/// An error of the Elasticsearch routes, in Elasticsearch's shape, whose
/// `error.type` clients (Filebeat, Logstash, Elastic's clients) branch on.
#[derive(Debug)]
pub struct ElasticsearchApiError(pub ApiError);

impl<E: Into<ApiError>> From<E> for ElasticsearchApiError {
    fn from(e: E) -> Self {
        ElasticsearchApiError(e.into())
    }
}

impl ElasticsearchApiError {
    /// Elasticsearch's exception name for a status.
    fn error_type(status: StatusCode) -> &'static str {
        match status.as_u16() {
            400 => "illegal_argument_exception",
            404 => "resource_not_found_exception",
            413 => "content_too_long_exception",
            415 => "media_type_header_exception",
            429 => "es_rejected_execution_exception",
            403 => "security_exception",
            _ => "exception",
        }
    }
}

impl IntoResponse for ElasticsearchApiError {
    fn into_response(self) -> Response {
        let (status, _) = self.0.status_and_type();
        log_server_error(status, &self.0);
        let cause = json!({"type": Self::error_type(status), "reason": self.0.to_string()});
        let body = json!({
            "error": {"root_cause": [cause.clone()], "type": cause["type"], "reason": cause["reason"]},
            "status": status.as_u16(),
        });
        let mut response = (status, Json(body)).into_response();
        add_retry_after(&self.0, &mut response);
        response
    }
}

/// An error of OTLP/HTTP (`/v1/logs`): a `google.rpc.Status` with the
/// message, in the encoding the request came in; 429 and 503 carry
/// `Retry-After`, which exporters honour before retrying.
#[derive(Debug)]
pub struct OtlpApiError {
    pub error: ApiError,
    pub protobuf: bool,
}

impl IntoResponse for OtlpApiError {
    fn into_response(self) -> Response {
        let (status, _) = self.error.status_and_type();
        log_server_error(status, &self.error);
        let message = self.error.to_string();
        // gRPC's codes: INVALID_ARGUMENT, RESOURCE_EXHAUSTED, UNAVAILABLE, INTERNAL.
        let code = match status.as_u16() {
            400 | 413 | 415 => 3,
            429 => 8,
            503 => 14,
            _ => 13,
        };
        let mut response = if self.protobuf {
            (
                status,
                [(axum::http::header::CONTENT_TYPE, "application/x-protobuf")],
                crate::logs::ingest::otlp::status_protobuf(code, &message),
            )
                .into_response()
        } else {
            (
                status,
                Json(crate::logs::ingest::otlp::status_json(code, &message)),
            )
                .into_response()
        };
        add_retry_after(&self.error, &mut response);
        response
    }
}

/// An error of Sentry's ingest endpoints: the status Sentry's relay
/// would answer, the reason in `X-Sentry-Error` (which SDKs log) and in
/// `{"detail": …}`, and on 429 `Retry-After` and `X-Sentry-Rate-Limits`,
/// which SDKs honour before sending again.
#[derive(Debug)]
pub struct SentryApiError(pub ApiError);

impl<E: Into<ApiError>> From<E> for SentryApiError {
    fn from(e: E) -> Self {
        SentryApiError(e.into())
    }
}

impl IntoResponse for SentryApiError {
    fn into_response(self) -> Response {
        let (status, _) = self.0.status_and_type();
        log_server_error(status, &self.0);
        let message = self.0.to_string();
        let mut response = (status, Json(json!({ "detail": message }))).into_response();
        // A header value holds no control characters; the reason is ours.
        let header: String = message
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        if let Ok(v) = axum::http::HeaderValue::from_str(&header) {
            response.headers_mut().insert("x-sentry-error", v);
        }
        add_retry_after(&self.0, &mut response);
        response
    }
}

/// An error of the Alertmanager API (`/api/v2/…`): the same statuses as
/// [`ApiError`], the message as a bare JSON string, which is what
/// Alertmanager answers and `amtool` prints.
#[derive(Debug)]
pub struct AlertmanagerApiError(pub ApiError);

impl<E: Into<ApiError>> From<E> for AlertmanagerApiError {
    fn from(e: E) -> Self {
        AlertmanagerApiError(e.into())
    }
}

impl IntoResponse for AlertmanagerApiError {
    fn into_response(self) -> Response {
        let (status, _) = self.0.status_and_type();
        log_server_error(status, &self.0);
        (status, Json(serde_json::Value::String(self.0.to_string()))).into_response()
    }
}

fn log_server_error(status: StatusCode, error: &ApiError) {
    if status.is_server_error() {
        tracing::error!(error = %error, "request failed");
    }
}

#[cfg(test)]
mod auth_tests {
    use super::*;

    fn answer(e: AuthError) -> (u16, Option<String>, String) {
        let response = ApiError::from(e).into_response();
        let retry = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        let status = response.status().as_u16();
        let body = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(axum::body::to_bytes(response.into_body(), 1 << 16))
            .unwrap();
        (status, retry, String::from_utf8(body.to_vec()).unwrap())
    }

    #[test]
    fn account_refusals_map_to_their_statuses() {
        let (status, retry, body) = answer(AuthError::InvalidCredentials);
        assert_eq!((status, retry), (401, None));
        assert!(body.contains("invalid user name or password"), "{body}");
        assert_eq!(answer(AuthError::UnknownToken).0, 401);
        assert_eq!(answer(AuthError::TokenExpired("ci".into())).0, 401);
        assert_eq!(answer(AuthError::MalformedToken).0, 401);
        let (status, retry, _) = answer(AuthError::Locked {
            retry_after_secs: 120,
        });
        assert_eq!((status, retry.as_deref()), (429, Some("120")));
        let (status, retry, _) = answer(AuthError::Busy);
        assert_eq!((status, retry.as_deref()), (503, Some("1")));
        assert_eq!(answer(AuthError::UserExists("a".into())).0, 409);
        assert_eq!(answer(AuthError::NoSuchToken("a".into())).0, 404);
        assert_eq!(answer(AuthError::Invalid("bad".into())).0, 400);
        let (status, retry, body) = answer(AuthError::Directory(
            "cannot connect to ldap server ldap://127.0.0.1:3890: connection refused".into(),
        ));
        assert_eq!((status, retry), (503, None));
        assert!(body.contains("ldap directory: cannot connect"), "{body}");
    }
}
