//! Why an OTLP logs request, or one log record of it, is refused.

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OtlpError {
    #[error("the body is not an ExportLogsServiceRequest protobuf: {0}")]
    Protobuf(String),
    #[error("the body is not OTLP/JSON: {0}")]
    Json(String),
    #[error("{path}: {reason}")]
    JsonField { path: String, reason: String },
    #[error("log record {record}: traceId has {len} bytes, expected 16")]
    TraceId { record: usize, len: usize },
    #[error("log record {record}: spanId has {len} bytes, expected 8")]
    SpanId { record: usize, len: usize },
    #[error("log record {record}: timestamp {nanos} ns is past the year 2262")]
    Timestamp { record: usize, nanos: u64 },
}
