//! Elasticsearch's bulk API (`POST /_bulk`, `/{index}/_bulk`): NDJSON
//! action/document pairs decoded into entries (`request.rs`, documents read
//! with ECS names in `document.rs`), and the per-item answer in
//! Elasticsearch's shape (`response.rs`), which Filebeat, Fluent Bit,
//! Vector, Logstash and Elastic's clients read to retry what failed.

mod document;
mod error;
mod request;
mod response;

pub use document::document_entry;
pub use error::BulkError;
pub use request::{Action, BulkItem, BulkRequest, decode_bulk};
pub use response::{ItemStatus, bulk_response};
