//! One line of a file, or one record joined from several, with the byte
//! range it came from: the range is what lets a position be saved only
//! up to what the store has acknowledged.

#[derive(Debug, Clone, PartialEq, Default)]
pub struct FileLine {
    /// The text, without its line ending.
    pub text: String,
    /// Offset of its first byte in the file.
    pub start: u64,
    /// Offset just after its line ending.
    pub end: u64,
    /// A time the format gave (Docker's `time`).
    pub time_ns: Option<i64>,
    /// Docker's `stream` (`stdout`, `stderr`).
    pub stream: Option<String>,
    /// Cut to a size limit.
    pub truncated: bool,
}
