//! Sentry-compatible errors: envelopes and events from Sentry's SDKs,
//! scrubbed on arrival, grouped into issues, stored in `state.redb`.
//! `ingest.rs` runs a request through `decode.rs`, `envelope.rs`,
//! `auth.rs` and `projects.rs`, then per event `event.rs`, `scrub.rs`,
//! `grouping.rs`; `store.rs` keeps events and `issues.rs`'s issues.

pub mod auth;
pub mod decode;
pub mod envelope;
mod error;
mod event;
pub mod grouping;
mod ingest;
mod issue_query;
mod issues;
mod metrics;
mod projects;
mod rate_limit;
mod scrub;
mod store;

pub use envelope::{Envelope, EnvelopeError, Item};
pub use error::ErrorsError;
pub use event::{Event, ExceptionView, FrameView, LEVELS};
pub use grouping::Grouping;
pub use ingest::{Endpoint, ErrorIngest, IngestRequest, Prepared};
pub use issue_query::{IssueQuery, IssueSort};
pub use issues::{EventEffect, Issue, IssueStatus, StatusChange};
pub use projects::{Project, Projects, StoredProject, add_project, load_stored};
pub use scrub::{EventScrubber, errors_privacy_config};
pub use store::{ErrorStore, EventPage, Recorded};
