//! Why chunk bytes could not be encoded or decoded.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    #[error("chunk is empty: it has no tag byte")]
    Empty,
    #[error("unknown chunk tag {0:#04x} (expected 0x01 xor or 0x02 pco)")]
    UnknownTag(u8),
    #[error("expected a {expected} chunk but the tag says {found}")]
    WrongKind {
        expected: &'static str,
        found: &'static str,
    },
    #[error("chunk truncated while reading {0}")]
    Truncated(&'static str),
    #[error("corrupt chunk: {0}")]
    Corrupt(String),
    #[error("timestamps and values differ in length ({timestamps} vs {values})")]
    LengthMismatch { timestamps: usize, values: usize },
    #[error("chunk holds {count} samples, more than the limit of {limit}")]
    TooManySamples { count: usize, limit: usize },
    #[error("pco codec error: {0}")]
    Pco(String),
}

impl From<pco::errors::PcoError> for ChunkError {
    fn from(e: pco::errors::PcoError) -> Self {
        ChunkError::Pco(e.to_string())
    }
}
