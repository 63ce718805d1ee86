//! Dashboards, in Grafana's dashboard JSON: the model is checked on the
//! way in (`model.rs`, each refusal naming the field's path), the four LMS
//! dashboards are compiled in and read-only (`builtin.rs`), and imported
//! ones live in `state.redb` (`store.rs`). Drawing them is the browser's
//! work (`web/static/js/dashboard/`).

mod builtin;
mod error;
mod model;
mod store;

pub use builtin::BUILTIN_UIDS;
pub use error::DashboardError;
pub use model::{Dashboard, MAX_DASHBOARD_BYTES, parse_dashboard};
pub use store::{DashboardSummary, Dashboards};
