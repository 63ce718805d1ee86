//! OTLP logs over HTTP (`POST /v1/logs`): the protobuf
//! `ExportLogsServiceRequest` (`proto.rs`, hand-written prost messages),
//! its OTLP/JSON encoding read into the same messages (`json.rs`), the
//! mapping of log records onto entries (`records.rs`), and the
//! partial-success answer (`response.rs`).

mod error;
mod json;
mod proto;
mod records;
mod response;

pub use error::OtlpError;
pub use json::decode_json;
pub use proto::{
    AnyValue, ArrayValue, ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
    InstrumentationScope, KeyValue, KeyValueList, LogRecord, Resource, ResourceLogs, ScopeLogs, any_value,
    decode_protobuf,
};
pub use records::entries;
pub use response::{Status, response_json, response_protobuf, status_json, status_protobuf};
