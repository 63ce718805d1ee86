//! Belfry's log record and the mapping every ingest path shares.

pub mod aliases;
mod level;
mod login;
mod mapping;
mod record;
mod values;

pub use level::Level;
pub use login::{login_event, parse_address};
pub use mapping::{MappingNotes, MappingOptions, TRUNCATION_MARKER, map_entry, truncate};
pub use record::LogRecord;
