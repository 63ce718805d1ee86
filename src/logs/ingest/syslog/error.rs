//! Why a syslog message or TCP frame is refused.

#[derive(Debug, PartialEq, thiserror::Error)]
pub enum SyslogError {
    #[error("empty message")]
    Empty,
    #[error("bad PRI {0:?}: expected <0>..<191>")]
    Pri(String),
    #[error("RFC 5424 header: {0}")]
    Header(String),
    #[error("RFC 5424 timestamp {0:?} is not RFC 3339")]
    Timestamp(String),
    #[error("RFC 5424 structured data at byte {at}: {reason}")]
    StructuredData { at: usize, reason: &'static str },
    #[error("octet-counted frame length {0:?} is not a number")]
    OctetCount(String),
    #[error("frame of {size} bytes is over the limit of {limit}; skipped")]
    FrameTooLong { size: usize, limit: usize },
}
