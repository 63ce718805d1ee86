//! Why a bulk request, or one item of it, is refused. Each item error
//! carries the `error.type` Elasticsearch would give, so clients that
//! branch on it behave as they would there.

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BulkError {
    #[error("request body is required")]
    EmptyBody,
    #[error("malformed action/metadata line [{line}]: {reason}")]
    ActionLine { line: usize, reason: String },
    #[error("action [{action}] is not supported: Belfry's bulk endpoint only indexes logs (index, create)")]
    Unsupported { action: String },
    #[error("the action on line [{line}] has no document line after it")]
    MissingDocument { line: usize },
    #[error("failed to parse the document on line [{line}]: {reason}")]
    Document { line: usize, reason: String },
    #[error("index is missing: name it in the action or the URL (/{{index}}/_bulk)")]
    NoIndex,
    #[error("failed to parse field [@timestamp]: {0}")]
    Timestamp(String),
}

impl BulkError {
    /// Elasticsearch's `error.type` for this refusal.
    pub fn error_type(&self) -> &'static str {
        match self {
            BulkError::EmptyBody | BulkError::ActionLine { .. } | BulkError::MissingDocument { .. } => {
                "illegal_argument_exception"
            }
            BulkError::Unsupported { .. } | BulkError::NoIndex => "action_request_validation_exception",
            BulkError::Document { .. } => "document_parsing_exception",
            BulkError::Timestamp(_) => "document_parsing_exception",
        }
    }
}
