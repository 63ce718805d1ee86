//! Remote write out: each `remote_write` entry gets a queue that tails the
//! WAL, relabels, shards and sends samples (and scrape metadata) to a
//! distributed engine, persisting how far it got so an outage or a
//! restart loses nothing the WAL still holds.

mod error;
mod manager;
mod metadata;
mod metrics;
mod position;
mod queue;
mod sender;
mod shards;
mod watcher;

pub use error::RemoteError;
pub use manager::{MetadataEntry, MetadataSource, PreparedRemote, RemoteManager, RemoteOptions, WalAccess};
pub use metrics::RemoteMetrics;
pub use position::{PositionStore, SavedPosition};
pub use sender::{SendResult, Sender, encode_batch};
pub use shards::{Batch, shard_batches};
pub use watcher::{QueuedSample, SeriesLookup, WalWatcher};

#[cfg(test)]
mod tests;
