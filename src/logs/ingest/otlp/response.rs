//! The `ExportLogsServiceResponse`: empty when every record was accepted,
//! else `partial_success` with the number refused and the first reasons,
//! in the encoding the request came in (OTLP/JSON writes the int64 as a
//! string).

use prost::Message;
use serde_json::{Value, json};

use super::proto::{ExportLogsPartialSuccess, ExportLogsServiceResponse};

/// Reasons past this many are summed up, keeping the answer small.
const MAX_REASONS: usize = 5;

fn message(reasons: &[String], rejected: usize) -> String {
    let mut text = reasons
        .iter()
        .take(MAX_REASONS)
        .cloned()
        .collect::<Vec<_>>()
        .join("; ");
    if reasons.len() > MAX_REASONS {
        text.push_str(&format!("; and {} more", reasons.len() - MAX_REASONS));
    }
    if text.is_empty() && rejected > 0 {
        text = format!("{rejected} log records refused");
    }
    text
}

pub fn response_protobuf(rejected: usize, reasons: &[String]) -> Vec<u8> {
    let partial_success = (rejected > 0).then(|| ExportLogsPartialSuccess {
        rejected_log_records: i64::try_from(rejected).unwrap_or(i64::MAX),
        error_message: message(reasons, rejected),
    });
    ExportLogsServiceResponse { partial_success }.encode_to_vec()
}

pub fn response_json(rejected: usize, reasons: &[String]) -> Value {
    if rejected == 0 {
        return json!({});
    }
    json!({"partialSuccess": {"rejectedLogRecords": rejected.to_string(), "errorMessage": message(reasons, rejected)}})
}

/// `google.rpc.Status`, the body of an OTLP/HTTP error answer (its
/// `details` are never sent).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Status {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
}

/// `code` is a gRPC status code (3 INVALID_ARGUMENT, 8 RESOURCE_EXHAUSTED, …).
pub fn status_protobuf(code: i32, message: &str) -> Vec<u8> {
    Status {
        code,
        message: message.to_string(),
    }
    .encode_to_vec()
}

pub fn status_json(code: i32, message: &str) -> Value {
    json!({"code": code, "message": message})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        assert_eq!(response_json(0, &[]), json!({}));
        assert!(response_protobuf(0, &[]).is_empty());
        let reasons: Vec<String> = (0..7).map(|i| format!("r{i}")).collect();
        assert_eq!(
            response_json(7, &reasons),
            json!({"partialSuccess": {"rejectedLogRecords": "7", "errorMessage": "r0; r1; r2; r3; r4; and 2 more"}})
        );
        let decoded =
            ExportLogsServiceResponse::decode(response_protobuf(2, &reasons[..2]).as_slice()).unwrap();
        assert_eq!(decoded.partial_success.unwrap().rejected_log_records, 2);
    }

    #[test]
    fn status_bodies() {
        let s = Status::decode(status_protobuf(3, "bad").as_slice()).unwrap();
        assert_eq!((s.code, s.message.as_str()), (3, "bad"));
        assert_eq!(status_json(8, "later"), json!({"code": 8, "message": "later"}));
    }
}
