//! Logs: every ingest path turns what a shipper sent into [`Entry`] values,
//! which the schema maps onto Belfry's log record, the logs WAL makes
//! durable and the tantivy index makes searchable.

pub mod entry;
pub mod ingest;

pub use entry::{Entry, LevelHint};
