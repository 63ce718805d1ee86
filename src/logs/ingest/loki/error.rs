//! Why a Loki push body, or one stream or entry of it, is refused.

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum LokiError {
    /// The whole body: it is not a push request at all.
    #[error("the body is not a Loki push request in JSON: {0}")]
    Json(String),
    #[error("the body is not valid snappy (block format): {0}")]
    Snappy(String),
    #[error("the body decompresses to {size} bytes, over the limit of {limit}")]
    TooLarge { size: usize, limit: usize },
    #[error("the body is not a Loki PushRequest protobuf: {0}")]
    Protobuf(String),
    #[error("stream labels {text:?} do not parse at byte {at}: {reason}")]
    LabelSyntax {
        text: String,
        at: usize,
        reason: &'static str,
    },
    #[error("a stream has no labels; Loki needs at least one per stream")]
    NoLabels,
    #[error("label name {0:?} is not valid ([a-zA-Z_][a-zA-Z0-9_]*)")]
    LabelName(String),
    #[error("label {0:?} appears twice in one stream")]
    DuplicateLabel(String),
    #[error("stream label {0:?} is not a string")]
    LabelValue(String),
    #[error("stream labels are not UTF-8")]
    LabelUtf8,
    #[error("entry {entry}: {reason}")]
    Entry { entry: usize, reason: String },
}
