//! The one error a malformed exposition body produces, with its position.

/// Why and where a body failed to parse. Prometheus fails a scrape with a
/// malformed body as a whole, so the parser stops at the first one.
///
/// `line` and `column` are 1-based; the column counts characters (not bytes)
/// from the start of the line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}
