//! Sentry-compatible errors: envelopes and events from Sentry's SDKs,
//! scrubbed on arrival, grouped into issues, stored in `state.redb`.
//! `ingest.rs` runs a request through `decode.rs`, `envelope.rs`,
//! `auth.rs` and `projects.rs`, then per event `event.rs`, `scrub.rs`,
//! `grouping.rs`; `store.rs` keeps events and `issues.rs`'s issues
//! (with `tags.rs`'s summary), `event_index.rs` the keys that find
//! events by id, time and request, `retention.rs` deletes old ones.
//! `health.rs` takes the other items: sessions (`session.rs`,
//! `release_health.rs`), transactions (`transactions.rs`, appended to the
//! TSDB by `tsdb_counters.rs`), feedback (`feedback.rs`) and attachments
//! (`attachments.rs`).
//! Cron monitors: `check_in.rs` items, `monitor_config.rs` with
//! `crontab.rs`, `monitor.rs`'s state machine kept by `monitor_store.rs`;
//! `alerts.rs` (with `spike.rs`) raises issue and monitor alerts, and
//! `monitor_task.rs` runs both in the background.

mod alerts;
mod attachments;
pub mod auth;
mod check_in;
pub mod crontab;
pub mod decode;
pub mod envelope;
mod error;
mod event;
mod event_index;
mod feedback;
pub mod grouping;
mod health;
mod ingest;
mod issue_query;
mod issue_search;
mod issues;
mod metrics;
mod monitor;
mod monitor_config;
mod monitor_store;
mod monitor_task;
mod projects;
mod rate_limit;
mod recent_ids;
mod release_health;
mod request_events;
mod retention;
mod scrub;
pub mod session;
mod spike;
mod store;
mod tags;
mod transactions;
mod tsdb_counters;

pub use alerts::{ErrorAlerts, EventLabels};
pub use attachments::AttachmentMeta;
pub use check_in::{CheckIn, CheckInError, CheckInStatus};
pub use envelope::{Envelope, EnvelopeError, Item};
pub use error::ErrorsError;
pub use event::{Event, ExceptionView, FrameView, LEVELS};
pub use event_index::{request_id, usable_request_id};
pub use grouping::Grouping;
pub use health::ErrorHealth;
pub use ingest::{Endpoint, ErrorIngest, IngestRequest, Prepared};
pub use issue_query::{IssueQuery, IssueSort};
pub use issue_search::IssueSearch;
pub use issues::{EventEffect, Issue, IssueStatus, StatusChange};
pub use monitor::{CheckInRecord, Incident, Monitor, MonitorStatus};
pub use monitor_config::{MonitorConfig, MonitorConfigError, Schedule, ScheduleConfig};
pub use monitor_store::{MonitorChange, MonitorStore};
pub use monitor_task::run_monitor_task;
pub use projects::{Project, Projects, StoredProject, add_project, load_stored};
pub use release_health::{HealthCounts, HealthPoint, ReleaseHealthSummary};
pub use retention::{DeletedEvent, RETENTION_BATCH, expire_events, run_retention};
pub use scrub::{EventScrubber, errors_privacy_config};
pub use store::{ErrorStore, EventPage, Recorded};
pub use tags::{TagSummary, TagValues};
pub use tsdb_counters::run_flush as run_counter_flush;
