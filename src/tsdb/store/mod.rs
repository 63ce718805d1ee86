//! Persisted chunks: the redb file `chunks.redb` ([`layout`] has its byte
//! format), opening it with a format-version guard, loading the series at
//! startup, a typed writer used inside one write transaction, and giving
//! freed pages back to the file system once enough of the file is free.

mod chunk_store;
mod copy;
pub mod layout;
mod migrations;
mod open;
mod reclaim;
mod writer;

pub(crate) use chunk_store::ChunkStore;
pub(crate) use reclaim::{RECLAIM_MIN_FREE_BYTES, RECLAIM_MIN_FREE_FRACTION, Reclaim};
pub(crate) use writer::StoreWriter;
