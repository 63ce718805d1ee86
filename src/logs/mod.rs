//! Logs: every ingest path turns what a shipper sent into [`Entry`] values,
//! which the schema maps onto Belfry's log record, the logs WAL makes
//! durable and the tantivy index makes searchable; retention keeps each
//! level as long as policy says.

mod copy;
pub mod entry;
mod error;
pub mod index;
pub mod ingest;
mod json_values;
pub mod metrics;
pub mod ndjson;
pub mod retention;
pub mod schema;
mod store;
pub mod wal;

pub use copy::LogsCopy;
pub use entry::{Entry, LevelHint};
pub use error::LogsError;
pub(crate) use json_values::{json_kind, string_labels};
pub use schema::{Level, LogRecord};
pub use store::{IngestReport, LogStore, LogStoreOptions};

#[cfg(test)]
mod tests;
