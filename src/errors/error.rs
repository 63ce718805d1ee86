//! Why an error ingest or an issue request failed. `web/error.rs` maps
//! each to the status a Sentry SDK understands; [`ErrorsError::reason`]
//! is the `reason` label of `belfry_error_events_rejected_total`.

use crate::state::StateError;

use super::envelope::EnvelopeError;

#[derive(Debug, thiserror::Error)]
pub enum ErrorsError {
    #[error(
        "missing authentication: send an X-Sentry-Auth header with sentry_key, a sentry_key query \
         parameter, or a dsn in the envelope header"
    )]
    MissingAuth,
    #[error("{0:?} is not a project id (a DSN ends in the project's number)")]
    BadProjectId(String),
    #[error("project {0} does not exist")]
    UnknownProject(u64),
    #[error("the DSN key is not a key of project {0}")]
    WrongKey(u64),
    #[error("malformed envelope: {0}")]
    BadEnvelope(#[from] EnvelopeError),
    #[error("malformed event: {0}")]
    BadEvent(String),
    #[error("{what} of {size} bytes exceeds errors.limits.{key} ({limit} bytes)")]
    TooLarge {
        what: &'static str,
        size: u64,
        limit: u64,
        key: &'static str,
    },
    #[error("Content-Encoding {0:?} is not supported (send gzip, deflate, br, zstd or identity)")]
    UnsupportedEncoding(String),
    #[error("the {encoding} body does not decompress: {reason}")]
    BadEncoding { encoding: &'static str, reason: String },
    #[error(
        "project {project} sent more than {limit} events in one second (errors.limits.max_events_per_second)"
    )]
    RateLimited {
        project: u64,
        limit: u32,
        retry_after_secs: u64,
    },
    #[error("issue {0} does not exist")]
    IssueNotFound(u64),
    /// A `session`, `sessions`, `transaction`, `feedback`, `user_report`
    /// or `attachment` item that cannot be used; only that item is
    /// dropped, the envelope's other items are kept.
    #[error("malformed {item} item: {message}")]
    BadItem { item: &'static str, message: String },
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    State(#[from] StateError),
}

impl ErrorsError {
    /// The `reason` label of a refused event: a fixed, small set.
    pub fn reason(&self) -> &'static str {
        match self {
            ErrorsError::MissingAuth => "missing_auth",
            ErrorsError::BadProjectId(_) | ErrorsError::UnknownProject(_) => "unknown_project",
            ErrorsError::WrongKey(_) => "wrong_key",
            ErrorsError::BadEnvelope(_) => "malformed_envelope",
            ErrorsError::BadEvent(_) => "malformed_event",
            ErrorsError::TooLarge { key, .. } => match *key {
                "max_envelope_bytes" => "envelope_too_large",
                "max_decompressed_bytes" => "decompressed_too_large",
                "max_attachment_bytes" => "attachment_too_large",
                "max_attachment_bytes_per_project" => "attachment_quota",
                "feedback_pending" => "feedback_pending_full",
                _ => "event_too_large",
            },
            ErrorsError::UnsupportedEncoding(_) | ErrorsError::BadEncoding { .. } => "bad_encoding",
            ErrorsError::RateLimited { .. } => "rate_limited",
            ErrorsError::BadItem { item, .. } => match *item {
                "session" | "sessions" => "malformed_session",
                "transaction" => "malformed_transaction",
                "feedback" | "user_report" => "malformed_feedback",
                _ => "malformed_attachment",
            },
            ErrorsError::IssueNotFound(_) | ErrorsError::NotFound(_) | ErrorsError::BadRequest(_) => {
                "bad_request"
            }
            ErrorsError::State(_) => "storage",
        }
    }
}
