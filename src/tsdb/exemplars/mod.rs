//! Exemplars kept beside the samples: a bounded in-memory ring, as
//! Prometheus's circular exemplar storage, filled by the scrape loop and
//! the remote-write receiver through [`ExemplarAppender`] and read by
//! `/api/v1/query_exemplars`. Nothing here reaches the WAL or disk: like
//! Prometheus without its exemplar WAL records, a restart starts empty.

mod error;
mod exemplar;
mod metrics;
mod ring;
mod store;

pub use error::ExemplarError;
pub use exemplar::{Exemplar, ExemplarAppender, MAX_LABEL_SET_CHARS, SeriesExemplars};
pub use store::ExemplarStore;
