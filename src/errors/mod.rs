//! Sentry-compatible errors: envelopes and events from Sentry's SDKs,
//! scrubbed on arrival, grouped into issues, stored in `state.redb`.
//! `ingest.rs` runs a request through `decode.rs`, `envelope.rs`,
//! `auth.rs` and `projects.rs`, then per event `event.rs`, `scrub.rs`,
//! `grouping.rs`; `store.rs` keeps events and `issues.rs`'s issues
//! (with `tags.rs`'s summary), `event_index.rs` the keys that find
//! events by id, time and request, `retention.rs` deletes old ones.

pub mod auth;
pub mod decode;
pub mod envelope;
mod error;
mod event;
mod event_index;
pub mod grouping;
mod ingest;
mod issue_query;
mod issue_search;
mod issues;
mod metrics;
mod projects;
mod rate_limit;
mod recent_ids;
mod request_events;
mod retention;
mod scrub;
mod store;
mod tags;

pub use envelope::{Envelope, EnvelopeError, Item};
pub use error::ErrorsError;
pub use event::{Event, ExceptionView, FrameView, LEVELS};
pub use event_index::{request_id, usable_request_id};
pub use grouping::Grouping;
pub use ingest::{Endpoint, ErrorIngest, IngestRequest, Prepared};
pub use issue_query::{IssueQuery, IssueSort};
pub use issue_search::IssueSearch;
pub use issues::{EventEffect, Issue, IssueStatus, StatusChange};
pub use projects::{Project, Projects, StoredProject, add_project, load_stored};
pub use retention::{DeletedEvent, RETENTION_BATCH, expire_events, run_retention};
pub use scrub::{EventScrubber, errors_privacy_config};
pub use store::{ErrorStore, EventPage, Recorded};
pub use tags::{TagSummary, TagValues};
