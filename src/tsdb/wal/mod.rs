//! The metrics write-ahead log: every append batch is framed, CRC-checked
//! and written to numbered segment files before the head applies it, so a
//! restart (even after `kill -9`) replays to the last synced record.
//! Checkpoints compact closed segments (never one a reader holds); open
//! repairs torn tails; `tail.rs` reads the log while it is written.

mod checkpoint;
mod compress;
mod error;
mod metrics;
mod record;
mod recovery;
mod replay;
mod segment;
mod snapshot;
mod tail;
mod value_bases;
mod writer;

pub use checkpoint::CheckpointKeep;
pub use error::{DecodeError, WalError};
pub use record::{TimeSpan, WalRecord};
pub use replay::ReplayReport;
pub use segment::MAX_RECORD_BYTES;
pub use tail::{
    SegmentTail, WalHolds, WalListing, WalPosition, list_wal, read_checkpoint, segment_bytes_from,
};
pub use writer::{DEFAULT_SEGMENT_SIZE, SyncPolicy, Wal, WalOptions};

#[cfg(test)]
mod tests;
