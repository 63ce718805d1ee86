//! Protocol decoders: pure functions from what a shipper sent to
//! [`Entry`](crate::logs::Entry) values, with a per-item error for each
//! record refused, so one bad record never costs the rest of its batch.
//! Transport (HTTP routes, UDP and TCP listeners) and what happens to the
//! entries afterwards live elsewhere, but for `listen` (the GELF and
//! syslog sockets, which hand what they read to the store) and `files`
//! (tailing a file is its own transport, so it runs its loop and hands
//! batches to the store itself).

pub mod bulk;
pub mod decoded;
pub mod files;
pub mod gelf;
pub mod listen;
pub mod loki;
pub mod otlp;
pub mod syslog;

pub use decoded::{Decoded, Rejected};
