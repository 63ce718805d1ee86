//! Loki's push API (`POST /loki/api/v1/push`): the JSON body and the
//! snappy-compressed `logproto.PushRequest`, whose stream labels arrive as
//! a selector string (`{app="lms", env="prod"}`) that `labels.rs` parses.

mod error;
mod json;
mod labels;
mod proto;

pub use error::LokiError;
pub use json::decode_json;
pub use labels::parse_labels;
pub use proto::{
    EntryAdapter, LabelPairAdapter, PushRequest, StreamAdapter, Timestamp, decode_protobuf, decode_snappy,
};

/// Why every stream needs a label: Loki refuses a stream without one, and
/// shippers that send one expect the same refusal here.
fn check_labels(labels: &[(String, String)]) -> Result<(), LokiError> {
    if labels.is_empty() {
        return Err(LokiError::NoLabels);
    }
    for (name, _) in labels {
        if !crate::model::is_legacy_label_name(name) {
            return Err(LokiError::LabelName(name.clone()));
        }
    }
    for pair in labels.windows(2) {
        if pair[0].0 == pair[1].0 {
            return Err(LokiError::DuplicateLabel(pair[0].0.clone()));
        }
    }
    Ok(())
}
