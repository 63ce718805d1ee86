//! Scraping: service discovery and relabeling of targets, the per-target
//! scrape loop with staleness, and the exposition-format parser.

mod append;
mod client;
pub mod discovery;
mod error;
mod label_limit;
mod manager;
mod metadata;
mod metrics;
mod pool;
mod scrape_loop;
mod series_cache;
mod status;
pub mod target;

pub use crate::relabel::{self, relabel};
pub use append::{REPORT_SERIES, ScrapeOptions};
pub use client::USER_AGENT_VALUE;
pub use error::{ScrapeError, ScrapeFailure};
pub use label_limit::LabelLimit;
pub use manager::{PreparedScrape, ScrapeManager};
pub use metadata::MetricMetadata;
pub use status::{ActiveTarget, DroppedTarget, Health, TargetStatus};
