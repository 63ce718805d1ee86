//! Runbooks: what an alert means, what to check first, how to mitigate
//! it and when to escalate, in Markdown. One is compiled in for every
//! alert of the LMS rule packs (`builtin.rs`, from `web/runbooks/`); an
//! admin may edit any of them or write one for an alert of their own,
//! kept in `state.redb` (`store.rs`) until the built-in text is restored.
//! Names follow the alertname label's rules (`name.rs`); the text is
//! rendered to HTML with raw HTML escaped (`render.rs`).

mod builtin;
mod error;
mod name;
mod render;
mod store;

pub use builtin::{REQUIRED_SECTIONS, builtin_names, builtin_text};
pub use error::RunbookError;
pub use name::{MAX_NAME_CHARS, validate_name};
pub use render::{render_markdown, summary_of};
pub use store::{MAX_RUNBOOK_BYTES, Runbook, RunbookSummary, Runbooks};
