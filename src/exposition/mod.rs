//! The exposition-format parser: Prometheus text format 0.0.4 (with
//! Prometheus 3's quoted UTF-8 names) and OpenMetrics 1.0, zero-copy.
//!
//! Fed by the scrape loop, the text-format push endpoint and `belfry
//! import`. [`Parser`] is an iterator of [`Entry`] values borrowed from the
//! body; it stops at the first error, because Prometheus fails a scrape with
//! a malformed body as a whole. It never panics on any input.
//!
//! ```
//! use belfry::exposition::{Entry, Format, Parser};
//! let body = b"# TYPE up gauge\nup{job=\"node\"} 1\n";
//! let samples: Vec<_> = Parser::new(body, Format::PrometheusText)
//!     .filter_map(|e| match e {
//!         Ok(Entry::Sample(s)) => Some(s),
//!         _ => None,
//!     })
//!     .collect();
//! assert_eq!(samples[0].labels[0].1, "node");
//! ```

mod cursor;
mod entry;
mod error;
mod family;
mod float;
mod format;
mod metadata;
mod parser;
mod sample_line;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

pub use entry::{Entry, ParsedExemplar, ParsedSample};
pub use error::ParseError;
pub use float::NORMAL_NAN;
pub use format::{Format, SCRAPE_ACCEPT_HEADER};
pub use parser::Parser;
