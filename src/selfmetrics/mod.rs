//! Belfry's own metrics (`belfry_*`), served on `/metrics` and scraped back
//! into the store by the embedded default config.
//!
//! A deliberately small registry: counters and gauges are atomics handed out
//! as `Arc`s, so hot paths bump them without locks; only registration and
//! rendering take the registry lock.

mod histogram;
mod registry;

pub use histogram::{DISK_LATENCY_BUCKETS, Histogram};

pub use registry::{Counter, CounterVec, Gauge, GaugeVec, Registry};
pub(crate) use registry::{escape_label_value, write_float};
