//! The logs write-ahead log: records are durable here before a request
//! is answered, and stay until the index has committed them. Its own
//! format (not the metrics WAL's): batches of typed log records, with the
//! sequence numbers replay uses to skip what the index already holds.
//! Documented in `docs/storage-format.md`, "Logs".

mod codec;
mod log;
mod segment;
mod snapshot;

pub use codec::{CodecError, decode_batch, encode_batch};
pub use log::{LogWal, Replay, SEGMENT_SIZE};
pub use segment::{FORMAT_VERSION, sync_dir};

#[cfg(test)]
mod tests;
