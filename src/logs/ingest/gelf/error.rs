//! Why a GELF message, chunk or frame is refused.

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum GelfError {
    #[error("empty message")]
    Empty,
    #[error("{kind} payload does not decompress: {reason}")]
    Decompress { kind: &'static str, reason: String },
    #[error("payload decompresses past the limit of {limit} bytes")]
    TooLarge { limit: usize },
    #[error("payload is not a JSON object: {0}")]
    Json(String),
    #[error("short_message is missing or not a string")]
    NoShortMessage,
    #[error("{field} is {found}, expected {expected}")]
    FieldType {
        field: &'static str,
        found: &'static str,
        expected: &'static str,
    },
    #[error("chunk header is {0} bytes, shorter than GELF's 12")]
    ShortChunk(usize),
    #[error("chunk {seq} of {count}: GELF allows 1 to 128 chunks, sequence below the count")]
    ChunkNumbers { seq: u8, count: u8 },
    #[error("frame of {size} bytes is over the limit of {limit}; skipped")]
    FrameTooLong { size: usize, limit: usize },
}
