//! `logs.files`: tailing log files with no agent. Discovery by glob and
//! identity (`discovery.rs`), reading whole lines (`reader.rs`), one
//! tailed file (`tailer.rs`), the formats (`format.rs` with `logfmt.rs`,
//! `docker.rs`, `plain.rs`), joining continuation lines (`multiline.rs`),
//! read positions in `state.redb` (`positions.rs`) and the loop that puts
//! them together (`tailing.rs`).

pub mod discovery;
pub mod docker;
mod error;
pub mod format;
pub mod line;
pub mod logfmt;
mod metrics;
pub mod multiline;
pub mod plain;
pub mod positions;
pub mod reader;
mod tailer;
mod tailing;

pub use error::FilesError;
pub use tailing::{FileTailing, SOURCE};
