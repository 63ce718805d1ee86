//! The ingest paths into the metrics store besides scraping: the Prometheus
//! remote-write receiver, text-format push, and file import (backfill).
//! Plain functions over `&dyn Storage`; the HTTP handlers and the CLI call
//! them and map [`IngestError::kind`] to a status or exit code.

mod append;
mod error;
#[doc(hidden)]
pub mod file_blocks;
pub mod import;
mod limits;
mod metrics;
mod outcome;
pub mod remote_write;
mod series_labels;
#[cfg(test)]
mod spy_storage;
pub mod text_push;

/// The wire types moved below the receiver so the sender shares them.
pub use crate::prompb;
pub use error::{ErrorKind, IngestError};
pub use import::{ImportOptions, ImportReport, guess_format, import_file};
pub use limits::IngestLimits;
pub use metrics::{IngestMetrics, Source};
pub use outcome::{FamilyMetadata, PushOutcome, RejectReason, Rejections, WriteOutcome};
pub use remote_write::{
    DecodedSeries, DecodedWrite, RemoteWriteHeaders, apply, apply_with_exemplars, decode_write_request,
};
pub use series_labels::{SeriesProblem, series_labels};
pub use text_push::{parse_extra_label, push_text};
