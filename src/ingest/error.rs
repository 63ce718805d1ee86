//! The one error type of the ingest paths and its mapping to response kinds,
//! so the web layer turns every failure into a status code in one place.

use std::path::PathBuf;

use crate::tsdb::StorageError;

use super::outcome::WriteOutcome;

/// How the web layer should answer a failed ingest call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// 400: the body is malformed or some samples were refused. Senders must
    /// not retry it unchanged.
    BadRequest,
    /// 413: a size or count limit was hit.
    PayloadTooLarge,
    /// 415: a protocol, content type or encoding we do not speak.
    UnsupportedMediaType,
    /// 500: storage failed; a sender should retry.
    Internal,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(
        "unsupported remote-write protocol {content_type:?}: belfry accepts remote-write 1.0 \
         (application/x-protobuf with proto=prometheus.WriteRequest); configure the sender with \
         protobuf_message: prometheus.WriteRequest"
    )]
    UnsupportedProtocol { content_type: String },

    #[error("unsupported content type {content_type:?}: expected {expected}")]
    UnsupportedContentType {
        content_type: String,
        expected: &'static str,
    },

    #[error("unsupported content encoding {encoding:?}: expected {expected}")]
    UnsupportedEncoding {
        encoding: String,
        expected: &'static str,
    },

    #[error("decompressed body is {actual} bytes, over the limit of {limit} bytes; send smaller batches")]
    TooLarge { actual: u64, limit: u64 },

    #[error("{}line {line} is longer than the limit of {limit} bytes", source_prefix(.path))]
    LineTooLong {
        path: Option<PathBuf>,
        line: usize,
        limit: usize,
    },

    #[error("request has more than {limit} samples; send smaller batches (e.g. lower max_samples_per_send)")]
    TooManySamples { limit: usize },

    #[error("invalid snappy block: {0}")]
    Snappy(String),

    #[error("invalid gzip body: {0}")]
    Gzip(String),

    #[error("invalid protobuf write request: {0}")]
    Protobuf(String),

    #[error("invalid extra label {given:?}: {reason}")]
    ExtraLabel { given: String, reason: String },

    #[error("{}line {line}, column {column}: {message}", source_prefix(.path))]
    Parse {
        path: Option<PathBuf>,
        line: usize,
        column: usize,
        message: String,
    },

    #[error("{}sample {series} has no timestamp; backfill needs one on every sample", location(.path, *.line))]
    MissingTimestamp {
        path: Option<PathBuf>,
        /// `None` when the line cannot be told (every part of the sample
        /// was unescaped into a copy).
        line: Option<usize>,
        series: String,
    },

    #[error("{}{reason}", location(.path, *.line))]
    InvalidSeries {
        path: Option<PathBuf>,
        line: Option<usize>,
        reason: String,
    },

    /// Some samples were refused; every accepted one is committed. The
    /// outcome says how many of each.
    #[error("{}", rejected_message(.0))]
    Rejected(Box<WriteOutcome>),

    #[error("cannot read {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("storage failed, nothing from this request was acknowledged: {0}")]
    Storage(#[from] StorageError),
}

impl IngestError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            IngestError::UnsupportedProtocol { .. }
            | IngestError::UnsupportedContentType { .. }
            | IngestError::UnsupportedEncoding { .. } => ErrorKind::UnsupportedMediaType,
            IngestError::TooLarge { .. }
            | IngestError::TooManySamples { .. }
            | IngestError::LineTooLong { .. } => ErrorKind::PayloadTooLarge,
            IngestError::Snappy(_)
            | IngestError::Gzip(_)
            | IngestError::Protobuf(_)
            | IngestError::ExtraLabel { .. }
            | IngestError::Parse { .. }
            | IngestError::MissingTimestamp { .. }
            | IngestError::InvalidSeries { .. }
            | IngestError::Rejected(_) => ErrorKind::BadRequest,
            IngestError::Io { .. } | IngestError::Storage(_) => ErrorKind::Internal,
        }
    }

    /// True for 4xx answers: the client sent something we will never take.
    pub fn is_client_error(&self) -> bool {
        self.kind() != ErrorKind::Internal
    }

    /// The HTTP status code for [`IngestError::kind`].
    pub fn http_status(&self) -> u16 {
        match self.kind() {
            ErrorKind::BadRequest => 400,
            ErrorKind::PayloadTooLarge => 413,
            ErrorKind::UnsupportedMediaType => 415,
            ErrorKind::Internal => 500,
        }
    }

    /// What was stored despite the error (only `Rejected` stores anything).
    pub fn partial_outcome(&self) -> Option<&WriteOutcome> {
        match self {
            IngestError::Rejected(outcome) => Some(outcome),
            _ => None,
        }
    }
}

fn source_prefix(path: &Option<PathBuf>) -> String {
    match path {
        Some(p) => format!("{}: ", p.display()),
        None => String::new(),
    }
}

fn location(path: &Option<PathBuf>, line: Option<usize>) -> String {
    match line {
        Some(line) => format!("{}line {line}: ", source_prefix(path)),
        None => source_prefix(path),
    }
}

fn rejected_message(outcome: &WriteOutcome) -> String {
    let mut msg = format!(
        "{} of {} samples refused ({}); the other {} were stored",
        outcome.rejections.total_samples(),
        outcome.rejections.total_samples() + outcome.samples_appended,
        outcome.rejections.summary(),
        outcome.samples_appended,
    );
    if let Some(first) = &outcome.rejections.first {
        msg.push_str("; first: ");
        msg.push_str(first);
    }
    msg
}
