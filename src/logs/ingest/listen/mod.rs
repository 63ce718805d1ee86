//! The network listeners of `logs.gelf` and `logs.syslog`: UDP and TCP
//! sockets (`udp.rs`, `tcp.rs`, with the connection limits; `udp_drops.rs`
//! counts what the kernel dropped for a full receive buffer) hand raw
//! messages to one bounded queue per listener (`queue.rs`), whose thread
//! decodes them (`protocol.rs`) and writes them to the store in batches,
//! so many datagrams share one fsync. `listeners.rs` starts and stops
//! them from the configuration; `metrics.rs` counts what they refuse.

mod listeners;
mod metrics;
mod protocol;
mod queue;
mod tcp;
mod udp;
mod udp_drops;

pub use listeners::{ListenerError, Listeners};
pub use metrics::ListenerMetrics;
pub use protocol::Protocol;
