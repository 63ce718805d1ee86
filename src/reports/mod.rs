//! The SEV-3 reports of the LMS guide's §4.3: a daily summary, a weekly
//! capacity report and a monthly security summary, built from PromQL, the
//! logs, the error issues, the alert history and the audit log
//! (`sources.rs`), rendered as HTML with a plain-text alternative
//! (`render.rs`), mailed through a receiver's e-mail integrations and sent
//! on their schedules (`service.rs`, `schedule.rs`, `runs.rs`).

mod capacity;
mod daily;
mod error;
mod metrics;
pub mod model;
mod render;
mod runs;
pub mod schedule;
mod security;
mod service;
mod sources;

pub use capacity::{Forecast, forecast};
pub use error::ReportError;
pub use render::{REPORT_CSS, html_body, html_mail, period_text, subject, text, utc_time};
pub use runs::{ReportRun, due_slot};
pub use schedule::{Schedule, end_of_local_day};
pub use service::{Delivery, ReportStatus, Reports, SendOutcome, build_report, title};
pub use sources::Sources;

#[cfg(test)]
mod tests;
